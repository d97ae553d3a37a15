package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/molt-go/update/source"
	"github.com/molt-go/update/source/feed"
	"github.com/molt-go/update/verify"
)

// Store is where Publish puts feeds and their files: an S3 bucket, a plain
// folder that a static web server serves, or anything else that holds
// objects by key. Keys are <app>/feed.json and <app>/<asset name>, relative
// to wherever the store is rooted, so the store's root becomes the base URL
// a feed Client reads (https://host/root/<app>/).
type Store interface {
	// Get returns the object at key (only ever a feed.json). An object that
	// does not exist is an error wrapping source.ErrNotFound; one larger
	// than MaxFeedSize may be refused.
	Get(ctx context.Context, key string) ([]byte, error)
	// Has reports whether key holds an object of size bytes whose hex
	// sha256 is sum, so an asset already uploaded is not uploaded again.
	Has(ctx context.Context, key string, size int64, sum string) (bool, error)
	// Put stores the size bytes of body at key, replacing any object there,
	// so that readers see either the old object or the whole new one. sum
	// is the hex sha256 the bytes must have: a store refuses bytes that do
	// not match it (the file changed since it was hashed). body can seek,
	// so a store can retry or hash before it sends.
	Put(ctx context.Context, key string, body io.ReadSeeker, size int64, sum string) error
}

// PublishOptions configure Publish. The zero value works.
type PublishOptions struct {
	// Apps limits publishing to these apps. Default: every app whose files
	// are in the folder.
	Apps []string
	// ExtraSigners also sign every feed, while keys rotate. Default: none.
	ExtraSigners []*feed.Signer
	// Lifetime is how long each feed is valid; publish again before it
	// passes. Default: DefaultLifetime.
	Lifetime time.Duration
	// Overwrite publishes over a current feed that is malformed or that no
	// signer's key verifies (such as one signed only by a retired key);
	// the new serial then comes from the clock alone. Default: such a feed
	// stops Publish with an error, since a publisher who does not hold the
	// key that signed what clients trust has probably mistaken the key or
	// the destination.
	Overwrite bool
	// Logger receives a line per upload and per feed. Default:
	// slog.Default().
	Logger *slog.Logger
	// Patches, PatchMaxFraction and PatchDir are as on Options: binary
	// patches from the Patches newest earlier releases of each platform
	// (zero or negative: none; pkgserver sets DefaultPatches), cached in PatchDir
	// (default dir/.patches) and put beside the assets, before the feed.
	Patches          int
	PatchMaxFraction float64
	PatchDir         string

	now func() time.Time // test seam; nil means time.Now
}

// Published is what Publish did for one app.
type Published struct {
	// App is the app's name.
	App string
	// Serial is the new feed's version counter.
	Serial int64
	// Expires is when the new feed stops being valid.
	Expires time.Time
	// Releases is how many releases the feed lists.
	Releases int
	// Uploaded and Skipped name the assets put, and those the store already
	// held with the same digest.
	Uploaded, Skipped []string
}

// Publish makes a signed feed for each app whose files are in dir (named
// as platform.ParseFeedName reads them) and puts the files and the feed into store,
// laid out as the Server serves them, so a Client can read the store's
// contents from any static host.
//
// The order keeps every client safe at every moment: for each app the
// assets are put first, and the feed that names them last, so a client
// never reads a feed naming an asset that is not there yet; an upload that
// fails leaves the old feed in place, still valid. Assets the store
// already holds with the same size and digest are skipped. The serial
// never goes down: it is the larger of the current feed's serial plus one
// and the clock in Unix seconds, the current feed being verified with the
// signers' keys first (see PublishOptions.Overwrite).
//
// The feed lists exactly the releases in dir; objects in the store that
// dir no longer has are left in place, unlisted.
func Publish(ctx context.Context, dir string, signer *feed.Signer, store Store, o PublishOptions) ([]Published, error) {
	signers := append([]*feed.Signer{signer}, o.ExtraSigners...)
	switch {
	case store == nil:
		return nil, errors.New("feed: publish: nil store")
	case slices.Contains(signers, nil):
		return nil, errors.New("feed: publish: nil signer")
	case o.Lifetime < 0:
		return nil, fmt.Errorf("feed: publish: negative Lifetime %v", o.Lifetime)
	}
	if o.Lifetime == 0 {
		o.Lifetime = DefaultLifetime
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.now == nil {
		o.now = time.Now
	}
	keys, err := signersVerifier(signers)
	if err != nil {
		return nil, err
	}
	n, frac, cache, err := patchConfig(dir, o.Patches, o.PatchMaxFraction, o.PatchDir)
	if err != nil {
		return nil, fmt.Errorf("feed: publish: %w", err)
	}
	apps, err := Build(dir)
	if err != nil {
		return nil, err
	}
	pt := &patcher{n: n, fraction: frac, cache: cache, log: o.Logger}
	patches := pt.add(ctx, dir, apps)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	names := o.Apps
	if len(names) == 0 {
		for app := range apps {
			names = append(names, app)
		}
		slices.Sort(names)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("feed: publish: no release files in %s (names are <app>-<version>-<os>-<arch>[.exe|.tar.gz|.tgz|.zip])", dir)
	}
	var done []Published
	for _, app := range names {
		p := apps[app]
		if p == nil {
			return done, fmt.Errorf("feed: publish: no release files for app %q in %s", app, dir)
		}
		res, err := publishApp(ctx, dir, p, patches, signers, keys, store, &o)
		if err != nil {
			return done, fmt.Errorf("feed: publish %s: %w", app, err)
		}
		done = append(done, *res)
	}
	return done, nil
}

// signersVerifier verifies what any of the signers signed.
func signersVerifier(signers []*feed.Signer) (verify.Verifier, error) {
	var pems [][]byte
	for _, s := range signers {
		pem, err := s.PublicKeyPEM()
		if err != nil {
			return nil, err
		}
		pems = append(pems, pem)
	}
	return verify.Signature(pems...)
}

func publishApp(ctx context.Context, dir string, p *feed.Payload, patches map[string]patchFile, signers []*feed.Signer, keys verify.Verifier, store Store, o *PublishOptions) (*Published, error) {
	feedKey := p.App + "/feed.json"
	last, err := currentSerial(ctx, store, feedKey, p.App, keys, o)
	if err != nil {
		return nil, err
	}
	res := &Published{App: p.App, Releases: len(p.Releases)}
	for _, r := range p.Releases {
		for _, a := range r.Assets {
			uploaded, err := putAsset(ctx, dir, store, p.App+"/"+a.Name, a)
			if err != nil {
				return nil, err
			}
			if uploaded {
				res.Uploaded = append(res.Uploaded, a.Name)
				o.Logger.Info("feed: uploaded", "app", p.App, "asset", a.Name, "bytes", a.Size)
			} else {
				res.Skipped = append(res.Skipped, a.Name)
			}
			for _, pa := range a.Patches {
				uploaded, err := putPatch(ctx, store, p.App+"/"+pa.Name, patches[p.App+"/"+pa.Name])
				if err != nil {
					return nil, err
				}
				if uploaded {
					res.Uploaded = append(res.Uploaded, pa.Name)
					o.Logger.Info("feed: uploaded", "app", p.App, "patch", pa.Name, "bytes", pa.Size)
				} else {
					res.Skipped = append(res.Skipped, pa.Name)
				}
			}
		}
	}
	now := o.now()
	issued := now.UTC().Truncate(time.Second)
	out := feed.Payload{
		App:       p.App,
		Serial:    max(last+1, now.Unix()),
		Issued:    issued,
		Expires:   issued.Add(o.Lifetime),
		Releases:  p.Releases,
		Pins:      p.Pins,
		Withdrawn: p.Withdrawn,
	}
	body, err := feed.Sign(&out, signers...)
	if err != nil {
		return nil, err
	}
	// Last: from here on clients see the new releases, all of whose files
	// are in place.
	if err := store.Put(ctx, feedKey, bytes.NewReader(body), int64(len(body)), sha256Hex(body)); err != nil {
		return nil, fmt.Errorf("putting %s: %w", feedKey, err)
	}
	res.Serial, res.Expires = out.Serial, out.Expires
	o.Logger.Info("feed: published", "app", p.App, "serial", out.Serial, "releases", len(p.Releases),
		"uploaded", len(res.Uploaded), "skipped", len(res.Skipped), "expires", out.Expires)
	return res, nil
}

// currentSerial returns the serial of the feed in the store, 0 if there is
// none.
func currentSerial(ctx context.Context, store Store, key, app string, keys verify.Verifier, o *PublishOptions) (int64, error) {
	data, err := store.Get(ctx, key)
	if errors.Is(err, source.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading the current feed %s: %w", key, err)
	}
	cur, err := feed.Parse(data, keys)
	if err == nil && cur.App != app {
		err = fmt.Errorf("%w: it is signed for app %q", source.ErrBadMetadata, cur.App)
	}
	if err != nil {
		if o.Overwrite {
			o.Logger.Warn("feed: overwriting a current feed that does not verify", "key", key, "err", err)
			return 0, nil
		}
		return 0, fmt.Errorf("the current feed %s does not verify with the signing keys (Overwrite publishes over it): %w", key, err)
	}
	return cur.Serial, nil
}

// putAsset puts the file for a at key unless the store has it already.
func putAsset(ctx context.Context, dir string, store Store, key string, a feed.Asset) (bool, error) {
	has, err := store.Has(ctx, key, a.Size, a.SHA256)
	if err != nil {
		return false, fmt.Errorf("looking for %s: %w", key, err)
	}
	if has {
		return false, nil
	}
	f, err := os.Open(filepath.Join(dir, a.Name))
	if err != nil {
		return false, err
	}
	defer f.Close()
	if err := store.Put(ctx, key, f, a.Size, a.SHA256); err != nil {
		return false, fmt.Errorf("putting %s: %w", key, err)
	}
	return true, nil
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// putPatch puts the patch file pf at key unless the store has it already.
func putPatch(ctx context.Context, store Store, key string, pf patchFile) (bool, error) {
	if pf.path == "" {
		return false, fmt.Errorf("no patch file for %s", key)
	}
	has, err := store.Has(ctx, key, pf.size, pf.sha256)
	if err != nil {
		return false, fmt.Errorf("looking for %s: %w", key, err)
	}
	if has {
		return false, nil
	}
	f, err := os.Open(pf.path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	if err := store.Put(ctx, key, f, pf.size, pf.sha256); err != nil {
		return false, fmt.Errorf("putting %s: %w", key, err)
	}
	return true, nil
}
