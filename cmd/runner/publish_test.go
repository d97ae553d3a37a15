package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/molt-go/update/agent"
	"github.com/molt-go/update/agent/git"
	"github.com/molt-go/update/agent/release"
	"github.com/molt-go/update/internal/gittest"
	"github.com/molt-go/update/server"
	"github.com/molt-go/update/source/feed"
	"github.com/molt-go/update/verify"
)

// newTestPublisher publishes app "tool" from a real repository to a
// folder store, with a 10% rollout and keep releases.
func newTestPublisher(t *testing.T, origin string, keep int) (*publisher, *server.DirStore) {
	t.Helper()
	r, err := git.New(git.Options{Repo: origin, Workdir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	priv, pub, err := feed.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := feed.LoadSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := verify.Signature(pub)
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	store := &server.DirStore{Dir: filepath.Join(work, "www")}
	return &publisher{
		repo:    r,
		builder: &release.Builder{Repo: r, App: "tool", Platforms: []release.Platform{{OS: "linux", Arch: "amd64"}}},
		rule:    release.RuleCount, app: "tool",
		releases: filepath.Join(work, "releases"), staging: filepath.Join(work, "staging"),
		signers: []*feed.Signer{signer}, keys: keys, store: store, storeURL: store.Dir,
		rollout: true, percent: 10, keep: keep, lifetime: time.Hour,
		log: slog.New(slog.NewTextHandler(io.Discard, nil)), now: time.Now,
	}, store
}

// stage stands in for Build: the file a build of version would make.
func stage(t *testing.T, p *publisher, version string) {
	t.Helper()
	dir := filepath.Join(p.staging, version)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tool-"+version+"-linux-amd64"), []byte("program "+version), 0o755); err != nil {
		t.Fatal(err)
	}
}

func commitOf(t *testing.T, p *publisher, hash string) git.Commit {
	t.Helper()
	c, err := p.repo.Fetch(context.Background(), hash, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestPublisherStory: versions by the rule, a release not published
// twice, the rollout signed with it, old releases dropped from the folder
// and the feed, a version that goes backwards refused, and the feed
// signed again before it expires.
func TestPublisherStory(t *testing.T) {
	t.Parallel()
	o := gittest.New(t)
	c1 := o.Commit("a", "1", "one")
	o.Run("tag", "v2.0.0")
	ctx := context.Background()
	p, store := newTestPublisher(t, o.Dir, 2)

	v, err := p.Prepare(ctx, commitOf(t, p, c1))
	if err != nil || v != "2.0.0" {
		t.Fatalf("Prepare(tagged) = %q, %v", v, err)
	}
	stage(t, p, v)
	if err := p.Publish(ctx, v, io.Discard); err != nil {
		t.Fatal(err)
	}
	cur, err := p.current(ctx)
	if err != nil || cur == nil || len(cur.Releases) != 1 || cur.Releases[0].Version != "2.0.0" {
		t.Fatalf("feed after the first publish: %+v, %v", cur, err)
	}
	if ro := cur.Releases[0].Rollout; ro == nil || ro.Percent != 10 {
		t.Errorf("rollout in the feed = %+v, want 10%%", ro)
	}
	if _, err := os.Stat(filepath.Join(p.staging, v)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the staged build is still there: %v", err)
	}
	if _, err := p.Prepare(ctx, commitOf(t, p, c1)); !errors.Is(err, agent.ErrSkip) {
		t.Errorf("Prepare of a published commit = %v, want ErrSkip", err)
	}

	// An operator's change to the rollout is not undone by a retry.
	if _, err := server.EditRollouts(p.releases, func(ro *server.Rollouts) error { return ro.Set("tool", "2.0.0", 50, nil, time.Now()) }); err != nil {
		t.Fatal(err)
	}
	if err := p.setRollout("2.0.0", time.Now(), io.Discard); err != nil {
		t.Fatal(err)
	}
	if ro, _ := server.ReadRollouts(p.releases); ro.Apps["tool"].Releases["2.0.0"].Percent != 50 {
		t.Errorf("setRollout replaced the operator's 50%%: %+v", ro.Apps["tool"].Releases["2.0.0"])
	}

	for i, want := range []string{"2.0.1", "2.0.2"} {
		h := o.Commit("a", want, "commit "+want)
		v, err := p.Prepare(ctx, commitOf(t, p, h))
		if err != nil || v != want {
			t.Fatalf("Prepare(commit %d after the tag) = %q, %v; want %s", i+1, v, err, want)
		}
		stage(t, p, v)
		if err := p.Publish(ctx, v, io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	cur, _ = p.current(ctx)
	var listed []string
	for _, r := range cur.Releases {
		listed = append(listed, r.Version)
	}
	slices.Sort(listed)
	if !slices.Equal(listed, []string{"2.0.1", "2.0.2"}) {
		t.Errorf("with -keep 2 the feed lists %v", listed)
	}
	if vs, _ := p.folderVersions(); len(vs) != 2 || slices.Contains(vs, "2.0.0") {
		t.Errorf("with -keep 2 the folder holds %v", vs)
	}
	if _, err := os.Stat(filepath.Join(store.Dir, "tool", "tool-2.0.0-linux-amd64")); err != nil {
		t.Errorf("the dropped release's file left the store (clients on it may still fetch it): %v", err)
	}

	// A tag below what is published: no client would take it.
	back := o.Commit("a", "back", "going back")
	o.Run("tag", "v1.9.0", back)
	if v, err := p.Prepare(ctx, commitOf(t, p, back)); !errors.Is(err, release.ErrNotNewer) {
		t.Errorf("Prepare(v1.9.0 after 2.0.2) = %q, %v; want ErrNotNewer", v, err)
	}

	// The feed is signed again once half its lifetime has gone, not before.
	serial := cur.Serial
	if did, err := p.refresh(ctx); did || err != nil {
		t.Errorf("refresh of a fresh feed = %v, %v; want nothing done", did, err)
	}
	p.now = func() time.Time { return time.Now().Add(40 * time.Minute) }
	if did, err := p.refresh(ctx); !did || err != nil {
		t.Errorf("refresh past half the lifetime = %v, %v; want published", did, err)
	}
	if cur, _ = p.current(ctx); cur.Serial <= serial {
		t.Errorf("serial %d after refresh, was %d", cur.Serial, serial)
	}
}

// TestPublisherRefreshPublishesMissing: a release that reached the folder
// but whose publish failed is published by refresh.
func TestPublisherRefreshPublishesMissing(t *testing.T) {
	t.Parallel()
	o := gittest.New(t)
	o.Commit("a", "1", "one")
	p, _ := newTestPublisher(t, o.Dir, 0)
	stage(t, p, "0.0.1")
	if err := p.land("0.0.1"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if did, err := p.refresh(ctx); !did || err != nil {
		t.Fatalf("refresh with no feed = %v, %v", did, err)
	}
	if cur, err := p.current(ctx); err != nil || cur == nil || len(cur.Releases) != 1 {
		t.Errorf("feed after refresh: %+v, %v", cur, err)
	}
	if did, err := p.refresh(ctx); did || err != nil {
		t.Errorf("second refresh = %v, %v; want nothing to do", did, err)
	}
}
