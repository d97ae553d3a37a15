package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"

	"github.com/molt-go/update/server"
	"github.com/molt-go/update/server/s3store"
	"github.com/molt-go/update/source/feed"
	"github.com/molt-go/update/source/s3"
)

// publish signs a folder of release files and uploads them, feed last, to
// a bucket or a folder that a static web server serves.
//
//	pkgserver publish -dir DIR -key update.key -to s3://bucket/prefix [-endpoint URL] [-region R]
//	pkgserver publish -dir DIR -key update.key -to file:///srv/www/releases
//
// S3 credentials come from the AWS SDK's default chain (AWS_ACCESS_KEY_ID
// and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, instance roles). Interrupting it
// (Ctrl-C) stops the upload and leaves the previous feed in place.
func publish(args []string) error {
	fs := flag.NewFlagSet("publish", flag.ExitOnError)
	dir := fs.String("dir", ".", "folder of release files, named <app>-<version>-<os>-<arch>[.exe|.tar.gz|.zip]")
	keyFile := fs.String("key", "update.key", "private key (PEM) to sign feeds with")
	to := fs.String("to", "", "where to publish: s3://bucket/prefix or file:///path")
	endpoint := fs.String("endpoint", "", "URL of an S3-compatible store (addressed path-style); default AWS")
	region := fs.String("region", "", "S3 region; default AWS_REGION or the shared config, else "+s3.DefaultRegion)
	lifetime := fs.Duration("lifetime", server.DefaultLifetime, "how long the feeds stay valid; publish again before then")
	app := fs.String("app", "", "publish only this app (default: every app in -dir)")
	overwrite := fs.Bool("overwrite", false, "publish over a current feed that the key does not verify")
	patches := addPatchFlags(fs)
	fs.Parse(args)
	if *to == "" || fs.NArg() > 0 {
		return errors.New("publish: -to s3://bucket/prefix or -to file:///path is required (and no other arguments)")
	}
	signer, err := loadSigner(*keyFile)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	store, base, err := openStore(ctx, *to, *endpoint, *region)
	if err != nil {
		return err
	}
	o := server.PublishOptions{
		Lifetime:  *lifetime,
		Overwrite: *overwrite,
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, nil)),

		Patches:          patches.count(),
		PatchMaxFraction: *patches.fraction,
		PatchDir:         *patches.dir,
	}
	if *app != "" {
		o.Apps = []string{*app}
	}
	// A key list (pkgserver key issue) goes up before the feeds it vouches
	// for, so a client never sees a feed signed by a key it cannot check.
	if _, err := os.Stat(filepath.Join(*dir, feed.KeysFile)); err == nil {
		if _, err := server.PublishKeyList(ctx, *dir, store, o.Apps); err != nil {
			return err
		}
	}
	res, err := server.Publish(ctx, *dir, signer, store, o)
	for _, p := range res {
		fmt.Printf("published %s: serial %d, %d releases, %d files uploaded, %d unchanged, expires %s: %s/%s/feed.json\n",
			p.App, p.Serial, p.Releases, len(p.Uploaded), len(p.Skipped), p.Expires.Format("2006-01-02 15:04 MST"), base, p.App)
	}
	if err != nil {
		return fmt.Errorf("%w (the previous feed, if any, is still in place)", err)
	}
	return nil
}

// openStore returns the Store that -to names, and its root for messages.
func openStore(ctx context.Context, to, endpoint, region string) (server.Store, string, error) {
	switch {
	case strings.HasPrefix(to, "s3://"):
		bucket, prefix, err := s3.ParseURL(to)
		if err != nil {
			return nil, "", err
		}
		st, err := s3store.New(ctx, s3.Options{
			Bucket:   bucket,
			Prefix:   prefix,
			Region:   region,
			Endpoint: endpoint,
			// S3-compatible stores are reached by address, not by a DNS
			// name per bucket.
			UsePathStyle: endpoint != "",
		})
		if err != nil {
			return nil, "", err
		}
		return st, st.URL(), nil
	case strings.HasPrefix(to, "file://"):
		if endpoint != "" || region != "" {
			return nil, "", errors.New("publish: -endpoint and -region are for s3:// destinations")
		}
		dir, err := fileURLPath(to)
		if err != nil {
			return nil, "", err
		}
		return &server.DirStore{Dir: dir}, dir, nil
	}
	return nil, "", fmt.Errorf("publish: -to %q is neither s3://bucket/prefix nor file:///path", to)
}

// fileURLPath returns the local path of a file:///path URL.
func fileURLPath(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("publish: -to %q: %w", s, err)
	}
	if (u.Host != "" && u.Host != "localhost") || u.Path == "" {
		return "", fmt.Errorf("publish: -to %q is not a file:///absolute/path URL", s)
	}
	p := u.Path
	// file:///C:/releases on windows.
	if runtime.GOOS == "windows" && len(p) > 2 && p[0] == '/' && p[2] == ':' {
		p = p[1:]
	}
	return filepath.FromSlash(p), nil
}
