package update_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	update "github.com/molt-go/update"
	"github.com/molt-go/update/source/feed"
	"github.com/molt-go/update/updatetest"
)

// The trust rules, told as attacks on an updatetest.Repo, in the manner of
// go-tuf's tests: each attack is refused and leaves the installed binary as
// it was.

type trustFixture struct {
	repo    *updatetest.Repo
	target  string
	state   string
	restart *updatetest.Restarter
}

func newTrust(t *testing.T) *trustFixture {
	t.Helper()
	dir := t.TempDir()
	f := &trustFixture{
		repo:    updatetest.NewRepo(t, "hello"),
		target:  filepath.Join(dir, "hello"),
		state:   filepath.Join(dir, "state"),
		restart: &updatetest.Restarter{},
	}
	if err := os.WriteFile(f.target, []byte("hello 1.0.0"), 0o755); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *trustFixture) updater(t *testing.T, version string, src ...update.Options) *update.Updater {
	t.Helper()
	o := update.Options{
		App: "hello", Version: version,
		Source: f.repo.Source(), Verifier: f.repo.Verifier(),
		Target: f.target, StateDir: f.state,
		Restarter: f.restart, SkipProbe: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if len(src) > 0 {
		o.Source = src[0].Source
	}
	u, err := update.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (f *trustFixture) installed(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(f.target)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestTrustInstallsWhatTheRepoSigned(t *testing.T) {
	t.Parallel()
	f := newTrust(t)
	f.repo.Publish("1.1.0", []byte("hello 1.1.0"))
	res, err := f.updater(t, "1.0.0").Check(context.Background())
	if err != nil || !res.Updated || res.To != "1.1.0" {
		t.Fatalf("Check = %+v, %v", res, err)
	}
	if got := f.installed(t); got != "hello 1.1.0" {
		t.Fatalf("installed %q", got)
	}
	if len(f.restart.Calls()) != 1 {
		t.Errorf("restarts: %v", f.restart.Calls())
	}
}

func TestTrustReplayedFeedRefused(t *testing.T) {
	t.Parallel()
	f := newTrust(t)
	old := f.repo.Serial()
	f.repo.Publish("1.1.0", []byte("hello 1.1.0"))
	u := f.updater(t, "1.0.0")
	if _, err := u.Find(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A mirror serves the older feed, in which 1.1.0 does not exist.
	f.repo.Replay(old)
	_, err := u.Find(context.Background())
	if !errors.Is(err, update.ErrReplayed) {
		t.Fatalf("Find on a replayed feed = %v, want ErrReplayed", err)
	}
	// A fresh updater reads the same state: the counter survived.
	if _, err := f.updater(t, "1.0.0").Check(context.Background()); !errors.Is(err, update.ErrReplayed) {
		t.Fatalf("Check after a restart on a replayed feed = %v, want ErrReplayed", err)
	}
	if got := f.installed(t); got != "hello 1.0.0" {
		t.Fatalf("installed %q after a refused replay", got)
	}
}

func TestTrustFrozenFeedExpires(t *testing.T) {
	t.Parallel()
	f := newTrust(t)
	f.repo.Publish("1.1.0", []byte("hello 1.1.0"))
	f.repo.Expire()
	_, err := f.updater(t, "1.0.0").Check(context.Background())
	if !errors.Is(err, update.ErrExpired) {
		t.Fatalf("Check on an expired feed = %v, want ErrExpired", err)
	}
	if got := f.installed(t); got != "hello 1.0.0" {
		t.Fatalf("installed %q from an expired feed", got)
	}
}

func TestTrustFeedForAnotherAppRefused(t *testing.T) {
	t.Parallel()
	f := newTrust(t)
	f.repo.Publish("1.1.0", []byte("hello 1.1.0"))
	f.repo.SignAs("other")
	_, err := f.updater(t, "1.0.0").Check(context.Background())
	if !errors.Is(err, update.ErrWrongApp) {
		t.Fatalf("Check on a feed for another app = %v, want ErrWrongApp", err)
	}
}

func TestTrustMixAndMatchRefused(t *testing.T) {
	t.Parallel()
	f := newTrust(t)
	f.repo.Publish("1.1.0", []byte("hello 1.1.0"))
	f.repo.Publish("1.2.0", []byte("hello 1.2.0"))
	// The genuine, signed 1.1.0 file served under 1.2.0's name.
	f.repo.MixAndMatch("1.1.0", "1.2.0")
	_, err := f.updater(t, "1.0.0").Check(context.Background())
	if !errors.Is(err, update.ErrNotVerified) {
		t.Fatalf("Check with 1.1.0's file as 1.2.0 = %v, want ErrNotVerified", err)
	}
	if got := f.installed(t); got != "hello 1.0.0" {
		t.Fatalf("installed %q", got)
	}
	assertNoLeftovers(t, filepath.Dir(f.target), "hello", "state")
}

func TestTrustTamperedAssetRefused(t *testing.T) {
	t.Parallel()
	f := newTrust(t)
	f.repo.Publish("1.1.0", []byte("hello 1.1.0"))
	f.repo.Tamper(f.repo.AssetName("1.1.0"), func(b []byte) []byte { return bytes.ToUpper(b) })
	_, err := f.updater(t, "1.0.0").Check(context.Background())
	if !errors.Is(err, update.ErrNotVerified) {
		t.Fatalf("Check of a tampered asset = %v, want ErrNotVerified", err)
	}
	assertNoLeftovers(t, filepath.Dir(f.target), "hello", "state")
}

func TestTrustNoDowngradeUnlessAsked(t *testing.T) {
	t.Parallel()
	f := newTrust(t)
	f.repo.Publish("0.9.0", []byte("hello 0.9.0"))
	u := f.updater(t, "1.0.0")
	if _, err := u.Find(context.Background()); !errors.Is(err, update.ErrUpToDate) {
		t.Fatalf("Find with only an older release = %v, want ErrUpToDate", err)
	}
	res, err := u.Install(context.Background(), "0.9.0")
	if err != nil || !res.Updated {
		t.Fatalf("Install of an older release by name = %+v, %v", res, err)
	}
	if got := f.installed(t); got != "hello 0.9.0" {
		t.Fatalf("installed %q", got)
	}
}

// TestTrustPerOrigin: a program that moves to another source (with its own,
// lower counter) keeps updating, while a replay on the first one is still
// refused.
func TestTrustPerOrigin(t *testing.T) {
	t.Parallel()
	f := newTrust(t)
	f.repo.Publish("1.1.0", []byte("hello 1.1.0"))
	if _, err := f.updater(t, "1.0.0").Find(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The same key behind a new pipeline that counts from 1, served from
	// another place: the HTTP feed.
	f.repo.RestartCounter(1)
	f.repo.Publish("1.2.0", []byte("hello 1.2.0"))
	moved := f.updater(t, "1.0.0", update.Options{Source: feed.New(f.repo.URL())})
	if res, err := moved.Check(context.Background()); err != nil || res.To != "1.2.0" {
		t.Fatalf("Check on the new source = %+v, %v", res, err)
	}
	// The old place now shows the lower counter: that is a replay there.
	if _, err := f.updater(t, "1.2.0").Find(context.Background()); !errors.Is(err, update.ErrReplayed) {
		t.Fatalf("the first source with a lower counter = %v, want ErrReplayed", err)
	}
}

// assertNoLeftovers fails if dir holds anything but the names given.
func assertNoLeftovers(t *testing.T, dir string, keep ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		ok := false
		for _, k := range keep {
			ok = ok || e.Name() == k
		}
		if !ok {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}
