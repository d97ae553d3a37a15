package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"golang.org/x/mod/semver"

	"github.com/molt-go/update/agent"
	"github.com/molt-go/update/agent/git"
	"github.com/molt-go/update/agent/release"
	"github.com/molt-go/update/internal/platform"
	"github.com/molt-go/update/server"
	"github.com/molt-go/update/source"
	"github.com/molt-go/update/source/feed"
	"github.com/molt-go/update/verify"
)

// publisher is the agent's Publisher for runner -publish: the release
// builder of agent/release, a release folder, and the package server's
// publisher (server.Publish) from that folder to the store.
//
// The release folder holds the releases as pkgserver reads them
// (<app>-<version>-<os>-<arch>, and rollouts.json): pkgserver serve -dir,
// publish -dir and rollout -dir work on it too. A release goes in only
// when all its platforms built; its rollout is set before its files land
// (a server watching the folder never offers it to everyone first); the
// store gets the files first and the feed last (server.Publish), so a
// failed upload leaves the feed clients read as it was.
type publisher struct {
	repo     *git.Repo
	builder  *release.Builder
	rule     release.Rule
	channel  string
	app      string
	releases string // the release folder
	staging  string // where builds wait for Publish, out of the release folder
	signers  []*feed.Signer
	keys     verify.Verifier
	store    server.Store
	storeURL string
	// percent or phases is the rollout each new release starts with;
	// rollout false means none (every machine at once).
	rollout  bool
	percent  float64
	phases   string
	keep     int // releases kept in the folder (and so in the feed)
	lifetime time.Duration
	patches  int
	log      *slog.Logger

	now func() time.Time // test seam

	mu sync.Mutex // one publish at a time: the agent's, or refresh's
}

var _ agent.Publisher = (*publisher)(nil)

// Prepare gives c's release version by the rule, and says to skip it when
// the store's feed lists it already (or lists it withdrawn): a restarted
// runner does not publish its head again. A version that does not go
// above what the feed or the folder holds on the channel is refused.
func (p *publisher) Prepare(ctx context.Context, c git.Commit) (string, error) {
	d, err := p.repo.Describe(ctx, c.Hash)
	if err != nil {
		return "", err
	}
	v, err := release.Version(p.rule, p.channel, d)
	if errors.Is(err, release.ErrNotTagged) {
		return "", fmt.Errorf("%w: %w", agent.ErrSkip, err)
	}
	if err != nil {
		return "", err
	}
	cur, err := p.current(ctx)
	if err != nil {
		return v, err
	}
	var listed []string
	if cur != nil {
		for _, r := range cur.Releases {
			listed = append(listed, r.Version)
		}
		if slices.Contains(listed, v) || slices.Contains(cur.Withdrawn, v) {
			return v, fmt.Errorf("%w: %s %s is in the feed already (serial %d)", agent.ErrSkip, p.app, v, cur.Serial)
		}
	}
	inFolder, err := p.folderVersions()
	if err != nil {
		return v, err
	}
	if err := release.CheckNewer(v, p.channel, append(listed, inFolder...)); err != nil {
		return v, err
	}
	return v, nil
}

// current is the store's feed for the app, verified; nil if there is none.
func (p *publisher) current(ctx context.Context) (*feed.Payload, error) {
	data, err := p.store.Get(ctx, p.app+"/feed.json")
	if errors.Is(err, source.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the feed in %s: %w", p.storeURL, err)
	}
	cur, err := feed.Parse(data, p.keys)
	if err == nil && cur.App != p.app {
		err = fmt.Errorf("%w: it is signed for app %q", source.ErrBadMetadata, cur.App)
	}
	if err != nil {
		return nil, fmt.Errorf("the feed in %s does not verify with -key (publish elsewhere, or with the key that signed it): %w", p.storeURL, err)
	}
	return cur, nil
}

// folderFiles returns the app's files in the release folder by version.
func (p *publisher) folderFiles() (map[string][]string, error) {
	entries, err := os.ReadDir(p.releases)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, e := range entries {
		if f, ok := platform.ParseFeedName(e.Name()); ok && f.App == p.app && !e.IsDir() {
			out[f.Version] = append(out[f.Version], e.Name())
		}
	}
	return out, nil
}

func (p *publisher) folderVersions() ([]string, error) {
	files, err := p.folderFiles()
	var vs []string
	for v := range files {
		vs = append(vs, v)
	}
	return vs, err
}

// fileNames are the files of version, one per platform.
func (p *publisher) fileNames(version string) []string {
	var names []string
	for _, pl := range p.builder.Platforms {
		names = append(names, platform.FeedName(p.app, version, pl.OS, pl.Arch, platform.Bare))
	}
	return names
}

// Build cross-builds version into the staging folder, unless the release
// folder has all its files already (built by a run whose publish failed).
func (p *publisher) Build(ctx context.Context, ws, version string, out io.Writer) error {
	have := 0
	for _, name := range p.fileNames(version) {
		if fi, err := os.Stat(filepath.Join(p.releases, name)); err == nil && fi.Mode().IsRegular() && fi.Size() > 0 {
			have++
		}
	}
	if have == len(p.builder.Platforms) {
		fmt.Fprintf(out, "%s %s is in %s already: not built again\n", p.app, version, p.releases)
		return nil
	}
	stage := filepath.Join(p.staging, version)
	if err := os.RemoveAll(stage); err != nil {
		return err
	}
	files, err := p.builder.Build(ctx, ws, version, stage, out)
	if err != nil {
		return err
	}
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			fmt.Fprintf(out, "built %s (%d bytes)\n", filepath.Base(f), fi.Size())
		}
	}
	return nil
}

// Publish sets the release's rollout, moves its files into the release
// folder, drops the oldest releases past keep, and publishes the folder
// to the store.
func (p *publisher) Publish(ctx context.Context, version string, out io.Writer) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if err := p.setRollout(version, now, out); err != nil {
		return err
	}
	if err := p.land(version); err != nil {
		return err
	}
	if err := p.prune(version, out); err != nil {
		return err
	}
	return p.publishFolder(ctx, out)
}

// setRollout stages version over the fleet, unless the rollouts file has
// a plan for it already (set by an earlier try, or by an operator).
func (p *publisher) setRollout(version string, now time.Time, out io.Writer) error {
	if !p.rollout {
		return nil
	}
	if err := os.MkdirAll(p.releases, 0o755); err != nil {
		return err
	}
	_, err := server.EditRollouts(p.releases, func(ro *server.Rollouts) error {
		v, err := server.NormalVersion(version)
		if err != nil {
			return err
		}
		if a := ro.Apps[p.app]; a != nil && a.Releases[v] != nil {
			fmt.Fprintf(out, "rollout of %s %s: as set before\n", p.app, v)
			return nil
		}
		var phases []feed.Phase
		if p.phases != "" {
			if phases, err = server.ParsePhases(p.phases, now); err != nil {
				return err
			}
		}
		fmt.Fprintf(out, "rollout of %s %s: %s\n", p.app, v, p.rolloutText())
		return ro.Set(p.app, v, p.percent, phases, now)
	})
	return err
}

func (p *publisher) rolloutText() string {
	if p.phases != "" {
		return "phases " + p.phases + " from now"
	}
	return fmt.Sprintf("%g%% of machines", p.percent)
}

// land moves the staged files of version into the release folder, each
// under a dot name first and renamed into place: a server watching the
// folder never sees a part of a file.
func (p *publisher) land(version string) error {
	stage := filepath.Join(p.staging, version)
	if err := os.MkdirAll(p.releases, 0o755); err != nil {
		return err
	}
	for _, name := range p.fileNames(version) {
		src, dst := filepath.Join(stage, name), filepath.Join(p.releases, name)
		if _, err := os.Stat(src); errors.Is(err, os.ErrNotExist) {
			if _, err := os.Stat(dst); err == nil {
				continue // landed by an earlier try
			}
		}
		tmp := filepath.Join(p.releases, "."+name+".tmp")
		if err := os.Rename(src, tmp); err != nil {
			// Another file system: copy.
			if err := copyFile(src, tmp); err != nil {
				return fmt.Errorf("putting %s into %s: %w", name, p.releases, err)
			}
		}
		if err := os.Rename(tmp, dst); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("putting %s into %s: %w", name, p.releases, err)
		}
	}
	return os.RemoveAll(stage)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	return out.Close()
}

// prune removes the files of the app's oldest releases from the folder,
// keeping the newest keep (and version): the feed lists what the folder
// holds, and must stay under feed.MaxFeedSize. Files already in the store
// stay there, unlisted.
func (p *publisher) prune(version string, out io.Writer) error {
	if p.keep <= 0 {
		return nil
	}
	files, err := p.folderFiles()
	if err != nil {
		return err
	}
	var vs []string
	for v := range files {
		if semver.IsValid("v" + v) {
			vs = append(vs, v)
		}
	}
	slices.SortFunc(vs, func(a, b string) int { return semver.Compare("v"+b, "v"+a) })
	for i, v := range vs {
		if i < p.keep || v == version {
			continue
		}
		for _, name := range files[v] {
			if err := os.Remove(filepath.Join(p.releases, name)); err != nil {
				return err
			}
		}
		fmt.Fprintf(out, "dropped %s %s from %s (-keep %d)\n", p.app, v, p.releases, p.keep)
	}
	return nil
}

// publishFolder publishes the release folder's feed for the app, after
// its key list if it has one (pkgserver key issue), as pkgserver publish
// does.
func (p *publisher) publishFolder(ctx context.Context, out io.Writer) error {
	if _, err := os.Stat(filepath.Join(p.releases, feed.KeysFile)); err == nil {
		if _, err := server.PublishKeyList(ctx, p.releases, p.store, []string{p.app}); err != nil {
			return err
		}
	}
	res, err := server.Publish(ctx, p.releases, p.signers[0], p.store, server.PublishOptions{
		Apps:         []string{p.app},
		ExtraSigners: p.signers[1:],
		Lifetime:     p.lifetime,
		Patches:      p.patches,
		Logger:       slog.New(slog.NewTextHandler(out, nil)),
	})
	for _, r := range res {
		fmt.Fprintf(out, "published %s: serial %d, %d releases, %d files uploaded, %d unchanged, expires %s: %s/%s/feed.json\n",
			r.App, r.Serial, r.Releases, len(r.Uploaded), len(r.Skipped), r.Expires.Format(time.RFC3339), p.storeURL, r.App)
		p.log.Info("runner: published", "app", r.App, "serial", r.Serial, "releases", r.Releases, "to", p.storeURL)
	}
	if err != nil {
		return fmt.Errorf("%w (the feed in %s is as it was)", err, p.storeURL)
	}
	return nil
}

// refresh publishes the folder again when the store's feed is past half
// its lifetime (nobody would sign it again before it expires, if the
// branch does not move), or does not list every release the folder holds
// (a publish that failed while the program ran here, which the agent does
// not retry). It reports whether it published.
func (p *publisher) refresh(ctx context.Context) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	vs, err := p.folderVersions()
	if err != nil || len(vs) == 0 {
		return false, err
	}
	cur, err := p.current(ctx)
	if err != nil {
		return false, err
	}
	why := ""
	switch {
	case cur == nil:
		why = "no feed"
	case p.now().After(cur.Expires.Add(-p.lifetime / 2)):
		why = "the feed expires at " + cur.Expires.Format(time.RFC3339)
	default:
		for _, v := range vs {
			if !slices.ContainsFunc(cur.Releases, func(r feed.Release) bool { return r.Version == v }) &&
				!slices.Contains(cur.Withdrawn, v) {
				why = "the feed does not list " + v
				break
			}
		}
	}
	if why == "" {
		return false, nil
	}
	p.log.Info("runner: publishing again", "app", p.app, "why", why)
	return true, p.publishFolder(ctx, io.Discard)
}

// refreshEvery calls refresh every interval until ctx ends.
func (p *publisher) refreshEvery(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := p.refresh(ctx); err != nil && ctx.Err() == nil {
			p.log.Warn("runner: publishing again", "app", p.app, "err", err)
		}
	}
}
