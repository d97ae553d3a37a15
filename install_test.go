package update

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/molt-go/update/apply"
	"github.com/molt-go/update/source"
	"github.com/molt-go/update/updatetest"
)

// three is a source with 1.0.0 (the running version), 1.1.0 and 1.2.0.
func three() *memSource {
	files := map[string][]byte{}
	rels := map[string]source.Asset{}
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0"} {
		name := platformName("app", v, "")
		files[name] = []byte("app " + v)
		rels[v] = asset(name, files[name])
	}
	return memOf(10, rels, files)
}

// TestInstallRunningVersionDoesNothing: Install of the version that runs
// returns ErrUpToDate without downloading anything or touching the file.
func TestInstallRunningVersionDoesNothing(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"1.0.0", "v1.0.0", "1.0"} {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			src := three()
			o := opts(t, src)
			rs := &updatetest.Restarter{}
			o.Restarter = rs
			before, err := os.Stat(o.Target)
			if err != nil {
				t.Fatal(err)
			}
			u, _ := New(o)
			res, err := u.Install(context.Background(), v)
			if !errors.Is(err, ErrUpToDate) {
				t.Fatalf("Install(%q): %v, want ErrUpToDate", v, err)
			}
			if res.Updated || res.To != "1.0.0" || res.From != "1.0.0" {
				t.Fatalf("Install(%q) = %+v", v, res)
			}
			if n := src.opens.Load(); n != 0 {
				t.Fatalf("the asset was opened %d times", n)
			}
			after, err := os.Stat(o.Target)
			if err != nil {
				t.Fatal(err)
			}
			if !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
				t.Fatal("the target was replaced")
			}
			if n := len(rs.Calls()); n != 0 {
				t.Fatalf("restarted %d times", n)
			}
			onlyFiles(t, filepath.Dir(o.Target), "app")
		})
	}
}

// TestInstallByName installs exactly the version asked for, not the newest.
func TestInstallByName(t *testing.T) {
	t.Parallel()
	o := opts(t, three())
	u, _ := New(o)
	res, err := u.Install(context.Background(), "v1.1.0")
	if err != nil || !res.Updated || res.To != "1.1.0" || res.Release.Version != "1.1.0" {
		t.Fatalf("Install(v1.1.0) = %+v, %v", res, err)
	}
	if got := content(t, o.Target); got != "app 1.1.0" {
		t.Fatalf("target %q, want app 1.1.0", got)
	}
	// It now runs as 1.1.0 in this updater's eyes: 1.1.0 again is nothing.
	if _, err := u.Install(context.Background(), "1.1.0"); !errors.Is(err, ErrUpToDate) {
		t.Fatalf("Install of what was just installed: %v, want ErrUpToDate", err)
	}
	if s := readStateFile(t, o.StateDir); s.Pending == nil || s.Pending.Version != "1.1.0" || s.Pending.From != "1.0.0" {
		t.Fatalf("pending %+v, want 1.1.0 from 1.0.0", s.Pending)
	}
}

// TestInstallRefusals: a version that is not one, that is not listed, or
// that has nothing for this platform.
func TestInstallRefusals(t *testing.T) {
	t.Parallel()
	src := three()
	src.listing.Releases = append(src.listing.Releases, source.Release{Version: "1.3.0", Assets: []source.Asset{
		{Name: "app-1.3.0-plan9-386", OS: "plan9", Arch: "386"}, {Name: "app-1.3.0.tar.gz"},
	}})
	// An asset with no platform runs anywhere, so give 1.3.0's second one a
	// platform that is not this one either.
	src.listing.Releases[3].Assets[1].OS = "aix"
	o := opts(t, src)
	u, _ := New(o)
	cases := []struct {
		version string
		want    error
		says    string
	}{
		{"latest", nil, `version "latest"`},
		{"2.0.0", ErrNotFound, "release 2.0.0"},
		{"1.3.0", ErrNoAsset, "on offer: aix/, plan9/386"},
	}
	for _, c := range cases {
		res, err := u.Install(context.Background(), c.version)
		var ue *Error
		if err == nil || !errors.As(err, &ue) || ue.Step != StepFind || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("Install(%q): %v, want %v at the find step", c.version, err, c.want)
			continue
		}
		if !strings.Contains(err.Error(), c.says) {
			t.Errorf("Install(%q): %q does not say %q", c.version, err, c.says)
		}
		if res.Updated || res.From != "1.0.0" {
			t.Errorf("Install(%q) = %+v", c.version, res)
		}
	}
	if n := src.opens.Load(); n != 0 {
		t.Fatalf("opened %d assets", n)
	}
	if got := content(t, o.Target); got != "old" {
		t.Fatalf("target %q", got)
	}
}

// TestInstallBadReleaseAsAsked: a release marked bad is skipped by Check
// and Find, but Install by name installs it, saying so in the log.
func TestInstallBadReleaseAsAsked(t *testing.T) {
	t.Parallel()
	o := opts(t, three())
	since := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	s := &state{}
	s.markBad("1.2.0", "restart failed: exit status 1", since)
	if err := saveState(o.StateDir, s); err != nil {
		t.Fatal(err)
	}
	logs := capture(&o)
	u, _ := New(o)
	res, err := u.Find(context.Background())
	if err != nil || res.To != "1.1.0" || len(res.Skipped) != 1 || res.Skipped[0].Version != "1.2.0" ||
		res.Skipped[0].Why != "restart failed: exit status 1" || !res.Skipped[0].Since.Equal(since) {
		t.Fatalf("Find = %+v, %v: want 1.1.0, skipping 1.2.0 with its reason", res, err)
	}
	if !strings.Contains(logs.String(), "skipping a newer release that failed here") {
		t.Errorf("the skip is not logged:\n%s", logs)
	}
	res, err = u.Install(context.Background(), "1.2.0")
	if err != nil || !res.Updated || res.To != "1.2.0" {
		t.Fatalf("Install(1.2.0) = %+v, %v", res, err)
	}
	if !contains(logs.String(), "installing a release marked bad, as asked", "version=1.2.0") {
		t.Errorf("installing a bad release is not logged:\n%s", logs)
	}
	if got := content(t, o.Target); got != "app 1.2.0" {
		t.Fatalf("target %q", got)
	}
}

// TestFindDoesNotInstall: Find looks and tells, and installs nothing.
func TestFindDoesNotInstall(t *testing.T) {
	t.Parallel()
	src := three()
	o := opts(t, src)
	u, _ := New(o)
	res, err := u.Find(context.Background())
	if err != nil || res.Updated || res.To != "1.2.0" || res.Asset == nil || res.Asset.Name != platformName("app", "1.2.0", "") {
		t.Fatalf("Find = %+v, %v", res, err)
	}
	if n := src.opens.Load(); n != 0 || content(t, o.Target) != "old" {
		t.Fatalf("Find downloaded (%d opens) or installed", n)
	}
	o.Version = "1.2.0"
	o.StateDir = filepath.Join(t.TempDir(), "state")
	u, _ = New(o)
	res, err = u.Find(context.Background())
	if !errors.Is(err, ErrUpToDate) || res.To != "" || !strings.Contains(err.Error(), `1.2.0 is the newest on channel "stable"`) {
		t.Fatalf("Find at the newest = %+v, %v, want ErrUpToDate", res, err)
	}
	if strings.Count(err.Error(), "update:") != 1 {
		t.Errorf("error %q repeats the package prefix", err)
	}
	// Check says the same without an error.
	if res, err := u.Check(context.Background()); err != nil || res.Updated {
		t.Fatalf("Check at the newest = %+v, %v", res, err)
	}
}

// TestInstallApplyFails: an applier that cannot swap the file leaves the
// old version and records nothing pending.
func TestInstallApplyFails(t *testing.T) {
	t.Parallel()
	o := opts(t, three())
	boom := errors.New("rename refused, says the test")
	ap := &updatetest.Applier{ApplyErr: boom}
	o.Applier = ap
	rs := &updatetest.Restarter{}
	o.Restarter = rs
	u, _ := New(o)
	_, err := u.Check(context.Background())
	var ue *Error
	if !errors.Is(err, boom) || !errors.As(err, &ue) || ue.Step != StepApply || ue.To != "1.2.0" {
		t.Fatalf("Check: %v, want the apply error", err)
	}
	if got := content(t, o.Target); got != "old" {
		t.Fatalf("target %q", got)
	}
	if s := readStateFile(t, o.StateDir); s.Pending != nil {
		t.Fatalf("pending %+v after a failed apply", s.Pending)
	}
	if len(rs.Calls()) != 0 || len(ap.Applied()) != 1 {
		t.Fatalf("restarts %v, applies %v", rs.Calls(), ap.Applied())
	}
	onlyFiles(t, filepath.Dir(o.Target), "app")
}

// breakState replaces the state file by a folder once the new version is
// applied, so that the pending record cannot be written.
type breakState struct {
	updatetest.Applier
	dir string
}

func (b *breakState) Apply(ctx context.Context, c apply.Change) error {
	if err := b.Applier.Apply(ctx, c); err != nil {
		return err
	}
	p := statePath(b.dir)
	os.Remove(p)
	if err := os.MkdirAll(filepath.Join(p, "in the way"), 0o700); err != nil {
		return err
	}
	return nil
}

// TestInstallPendingNotRecorded: a version whose pending record cannot be
// saved could never be rolled back, so the old one is put back at once.
func TestInstallPendingNotRecorded(t *testing.T) {
	t.Parallel()
	o := opts(t, three())
	ap := &breakState{dir: o.StateDir}
	o.Applier = ap
	rs := &updatetest.Restarter{}
	o.Restarter = rs
	u, _ := New(o)
	_, err := u.Check(context.Background())
	var ue *Error
	if !errors.Is(err, ErrState) || !errors.As(err, &ue) || ue.Step != StepApply {
		t.Fatalf("Check: %v, want ErrState at the apply step", err)
	}
	if got := content(t, o.Target); got != "old" {
		t.Fatalf("target %q, want the old version put back", got)
	}
	if len(ap.Reverts()) != 1 || len(rs.Calls()) != 0 {
		t.Fatalf("reverts %v, restarts %v: want one revert and no restart", ap.Reverts(), rs.Calls())
	}
}

// TestChoiceAndMessages: the newest wins whatever the listing's order;
// the up-to-date message names the channel; a release with no assets at
// all offers nothing.
func TestChoiceAndMessages(t *testing.T) {
	t.Parallel()
	src := three()
	rels := src.listing.Releases
	src.listing.Releases = []source.Release{rels[2], rels[0], rels[1], {Version: "1.5.0-beta.1"}}
	o := opts(t, src)
	u, _ := New(o)
	if res, err := u.Find(context.Background()); err != nil || res.To != "1.2.0" {
		t.Fatalf("Find = %+v, %v, want 1.2.0", res, err)
	}
	o.Channel, o.Version = "beta", "1.2.0"
	o.StateDir = filepath.Join(t.TempDir(), "beta-state")
	u, _ = New(o)
	_, err := u.Find(context.Background())
	if !errors.Is(err, ErrNoAsset) || !strings.Contains(err.Error(), "on offer: nothing") {
		t.Fatalf("Find on beta: %v, want ErrNoAsset offering nothing", err)
	}
	o.Version = "1.5.0"
	o.StateDir = filepath.Join(t.TempDir(), "beta-state-2")
	u, _ = New(o)
	if _, err := u.Find(context.Background()); !errors.Is(err, ErrUpToDate) || !strings.Contains(err.Error(), `on channel "beta"`) {
		t.Fatalf("Find at the newest beta: %v, want ErrUpToDate naming the beta channel", err)
	}
}

// breakStateOnStage replaces the state file by a folder when the download
// is staged, after the find step saved it.
type breakStateOnStage struct {
	apply.Replace
	dir string
}

func (b *breakStateOnStage) Stage(target string) (*os.File, error) {
	p := statePath(b.dir)
	os.Remove(p)
	if err := os.MkdirAll(filepath.Join(p, "in the way"), 0o700); err != nil {
		return nil, err
	}
	return b.Replace.Stage(target)
}

// TestProbeMarkNotSaved: a release that failed its probe but whose bad
// mark cannot be saved reports both.
func TestProbeMarkNotSaved(t *testing.T) {
	t.Parallel()
	o := opts(t, newMem("1.1.0", []byte{0, 1, 2, 3, 4, 5, 6, 7}))
	o.SkipProbe = false
	o.Applier = &breakStateOnStage{dir: o.StateDir}
	u, _ := New(o)
	_, err := u.Check(context.Background())
	if !errors.Is(err, ErrProbe) || !errors.Is(err, ErrState) {
		t.Fatalf("Check: %v, want ErrProbe and ErrState", err)
	}
	if got := content(t, o.Target); got != "old" {
		t.Fatalf("target %q", got)
	}
}
