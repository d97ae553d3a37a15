package server

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/molt-go/update/source/feed"
)

func TestParsePhases(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 500, time.UTC)
	at := now.Truncate(time.Second)
	got, err := ParsePhases("1%@0h, 10%@24h,100%@3d", now)
	if err != nil {
		t.Fatal(err)
	}
	want := []feed.Phase{{Percent: 1, Start: at}, {Percent: 10, Start: at.Add(24 * time.Hour)}, {Percent: 100, Start: at.Add(72 * time.Hour)}}
	if !slices.Equal(got, want) {
		t.Errorf("ParsePhases = %+v, want %+v", got, want)
	}
	if got, err := ParsePhases("0.5@90m", now); err != nil || len(got) != 1 || got[0].Percent != 0.5 || !got[0].Start.Equal(at.Add(90*time.Minute)) {
		t.Errorf("ParsePhases(0.5@90m) = %+v, %v", got, err)
	}
	for _, bad := range []string{
		"", "10%", "10%@", "ten%@1h", "101%@1h", "-1%@0h", "10%@-1h", "10%@1x",
		"10%@1h,50%@1h",  // two phases at one time
		"10%@2h,50%@1h",  // out of order
		"50%@1h,10%@2h",  // shrinking
		"10%@1h,,50%@2h", // empty phase
		"NaN%@1h",
	} {
		if _, err := ParsePhases(bad, now); !errors.Is(err, ErrBadRollout) {
			t.Errorf("ParsePhases(%q): err = %v, want ErrBadRollout", bad, err)
		}
	}
}

func TestRolloutCurrentAndSigned(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	phased := &RolloutState{Phases: []feed.Phase{{Percent: 1, Start: start}, {Percent: 10, Start: start.Add(24 * time.Hour)}}}
	for _, c := range []struct {
		at      time.Time
		percent float64
		phase   int
	}{
		{start.Add(-time.Second), 0, 0},
		{start, 1, 1},
		{start.Add(24*time.Hour - time.Second), 1, 1},
		{start.Add(48 * time.Hour), 10, 2},
	} {
		if p, ph := phased.Current(c.at); p != c.percent || ph != c.phase {
			t.Errorf("Current(%s) = %v, phase %d; want %v, phase %d", c.at, p, ph, c.percent, c.phase)
		}
	}
	if s := phased.signed(); s.Paused || len(s.Phases) != 2 || s.Percent != 0 {
		t.Errorf("signed phases: %+v", s)
	}
	paused := &RolloutState{Percent: 50, Paused: true, PausedPercent: 20}
	if p, _ := paused.Current(start); p != 20 {
		t.Errorf("paused at 20%%: Current = %v", p)
	}
	if s := paused.signed(); !s.Paused || s.Percent != 20 {
		t.Errorf("signed paused: %+v", s)
	}
}

// TestRolloutsFileCommands edits the file as the commands do, step by
// step, and checks what the feed built from the folder then says.
func TestRolloutsFileCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mod := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	writeFile(t, dir, "hello-1.0.0-linux-amd64", "one", mod)
	writeFile(t, dir, "hello-1.1.0-linux-amd64", "two", mod)
	writeFile(t, dir, "other-2.0.0-linux-amd64", "other", mod)
	now := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	edit := func(f func(ro *Rollouts) error) bool {
		t.Helper()
		changed, err := EditRollouts(dir, f)
		if err != nil {
			t.Fatal(err)
		}
		return changed
	}
	release := func(app, version string) *feed.Release {
		t.Helper()
		apps, err := Build(dir)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range apps[app].Releases {
			if r.Version == version {
				return &apps[app].Releases[i]
			}
		}
		return nil
	}

	if r := release("hello", "1.1.0"); r == nil || r.Rollout != nil {
		t.Fatalf("before any rollout: %+v", r)
	}
	if !edit(func(ro *Rollouts) error { return ro.Set("hello", "v1.1.0", 10, nil, now) }) {
		t.Error("set reported no change")
	}
	if r := release("hello", "1.1.0"); r.Rollout == nil || r.Rollout.Percent != 10 || r.Rollout.Paused {
		t.Errorf("at 10%%: %+v", r.Rollout)
	}
	if r := release("other", "2.0.0"); r.Rollout != nil {
		t.Errorf("another app got the rollout: %+v", r.Rollout)
	}
	if edit(func(ro *Rollouts) error { return ro.Set("hello", "1.1.0", 10, nil, now) }) {
		t.Error("setting the same rollout again rewrote the file")
	}

	// Pause freezes the fraction reached; resume moves the phases not
	// started by the time paused.
	phases, _ := ParsePhases("10%@0h,50%@24h", now)
	edit(func(ro *Rollouts) error { return ro.Set("hello", "1.1.0", 0, phases, now) })
	edit(func(ro *Rollouts) error { return ro.Pause("hello", "1.1.0", now.Add(time.Hour)) })
	if r := release("hello", "1.1.0"); !r.Rollout.Paused || r.Rollout.Percent != 10 || len(r.Rollout.Phases) != 0 {
		t.Errorf("paused: %+v", r.Rollout)
	}
	edit(func(ro *Rollouts) error { return ro.Resume("hello", "1.1.0", now.Add(3*time.Hour)) })
	r := release("hello", "1.1.0")
	if r.Rollout.Paused || len(r.Rollout.Phases) != 2 || !r.Rollout.Phases[0].Start.Equal(now) || !r.Rollout.Phases[1].Start.Equal(now.Add(26*time.Hour)) {
		t.Errorf("resumed: %+v", r.Rollout)
	}
	ro, err := ReadRollouts(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st := ro.Apps["hello"].Releases["1.1.0"]; !st.Since.Equal(now.Add(3 * time.Hour)) {
		t.Errorf("since %s after resume, want the resume's time", st.Since)
	}

	// Pins: by install ID and by label; pinning again moves.
	edit(func(ro *Rollouts) error {
		return ro.Pin("hello", "1.0.0", []string{"id-a", "id-b"}, []string{"canary"})
	})
	edit(func(ro *Rollouts) error { return ro.Pin("hello", "1.1.0", []string{"id-b"}, nil) })
	apps, err := Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []feed.Pin{{Version: "1.0.0", InstallIDs: []string{"id-a"}, Labels: []string{"canary"}}, {Version: "1.1.0", InstallIDs: []string{"id-b"}}}
	if got := apps["hello"].Pins; len(got) != 2 || !slices.Equal(got[0].InstallIDs, want[0].InstallIDs) ||
		!slices.Equal(got[0].Labels, want[0].Labels) || got[1].Version != "1.1.0" || !slices.Equal(got[1].InstallIDs, want[1].InstallIDs) {
		t.Errorf("pins %+v, want %+v", got, want)
	}
	edit(func(ro *Rollouts) error { return ro.Unpin("hello", "", []string{"id-a", "id-b"}, []string{"canary"}) })
	if apps, _ := Build(dir); len(apps["hello"].Pins) != 0 {
		t.Errorf("pins left after unpinning all: %+v", apps["hello"].Pins)
	}

	// Abort: the release leaves the list for Withdrawn; a version whose
	// files are gone can be withdrawn too.
	edit(func(ro *Rollouts) error { return ro.Abort("hello", "1.1.0", now) })
	edit(func(ro *Rollouts) error { return ro.Abort("hello", "0.9.0", now) })
	if r := release("hello", "1.1.0"); r != nil {
		t.Errorf("a withdrawn release is still listed: %+v", r)
	}
	apps, _ = Build(dir)
	if got := apps["hello"].Withdrawn; !slices.Equal(got, []string{"1.1.0", "0.9.0"}) {
		t.Errorf("withdrawn %v", got)
	}
	if apps["hello"].Releases[0].Version != "1.0.0" {
		t.Errorf("releases %+v", apps["hello"].Releases)
	}
}

func TestRolloutsErrors(t *testing.T) {
	t.Parallel()
	now := time.Now()
	var ro Rollouts
	for name, c := range map[string]struct {
		err  error
		want error
	}{
		"bad version":          {ro.Set("hello", "one", 10, nil, now), ErrBadRollout},
		"bad app":              {ro.Set("a/b", "1.0.0", 10, nil, now), ErrBadRollout},
		"percent over 100":     {ro.Set("hello", "1.0.0", 101, nil, now), ErrBadRollout},
		"percent and phases":   {ro.Set("hello", "1.0.0", 5, []feed.Phase{{Percent: 1, Start: now}}, now), ErrBadRollout},
		"pause with none":      {ro.Pause("hello", "1.0.0", now), ErrNoRollout},
		"resume with none":     {ro.Resume("hello", "1.0.0", now), ErrNoRollout},
		"pin of nobody":        {ro.Pin("hello", "1.0.0", nil, nil), ErrBadRollout},
		"pin of an empty name": {ro.Pin("hello", "1.0.0", []string{""}, nil), ErrBadRollout},
		"unpin of nobody":      {ro.Unpin("hello", "", []string{"id"}, nil), ErrNotPinned},
	} {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: err = %v, want %v", name, c.err, c.want)
		}
	}
	if err := ro.Abort("hello", "1.2.0", now); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"set":    ro.Set("hello", "1.2.0", 10, nil, now),
		"pause":  ro.Pause("hello", "1.2.0", now),
		"resume": ro.Resume("hello", "1.2.0", now),
	} {
		if !errors.Is(err, ErrWithdrawn) {
			t.Errorf("%s of a withdrawn release: err = %v, want ErrWithdrawn", name, err)
		}
	}
	if ro.Halt("hello", "1.2.0", "why", now) {
		t.Error("halted a withdrawn release")
	}
	if ro.Halt("hello", "1.0.0", "why", now) {
		t.Error("halted a release without a rollout")
	}
	if err := ro.Pin("hello", "1.0.0", []string{"id"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := ro.Unpin("hello", "1.1.0", []string{"id"}, nil); !errors.Is(err, ErrNotPinned) {
		t.Errorf("unpin at another version: err = %v, want ErrNotPinned", err)
	}
}

// TestRolloutsFileRefused: a rollouts file that does not read stops Build
// and the Server from signing rather than letting a staged release reach
// every machine; a failed edit leaves the file as it was.
func TestRolloutsFileRefused(t *testing.T) {
	t.Parallel()
	for name, content := range map[string]string{
		"not JSON":         "{",
		"unknown field":    `{"apps":{"hello":{"releases":{"1.1.0":{"precent":10}}}}}`,
		"bad percent":      `{"apps":{"hello":{"releases":{"1.1.0":{"percent":300}}}}}`,
		"version with v":   `{"apps":{"hello":{"releases":{"v1.1.0":{"percent":10}}}}}`,
		"not a version":    `{"apps":{"hello":{"releases":{"latest":{"percent":10}}}}}`,
		"null release":     `{"apps":{"hello":{"releases":{"1.1.0":null}}}}`,
		"two documents":    `{"apps":{}}{}`,
		"pin at a nothing": `{"apps":{"hello":{"pins":[{"version":"x","labels":["a"]}]}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeFile(t, dir, "hello-1.1.0-linux-amd64", "two", time.Now())
			writeFile(t, dir, RolloutsFile, content, time.Now())
			if _, err := Build(dir); !errors.Is(err, ErrRolloutsFile) {
				t.Errorf("Build: err = %v, want ErrRolloutsFile", err)
			}
			signer, _ := newKey(t)
			if _, err := New(Options{Dir: dir, Signer: signer, Logger: testLogger(t)}); !errors.Is(err, ErrRolloutsFile) {
				t.Errorf("New: err = %v, want ErrRolloutsFile", err)
			}
			if _, err := EditRollouts(dir, func(ro *Rollouts) error { return nil }); !errors.Is(err, ErrRolloutsFile) {
				t.Errorf("EditRollouts: err = %v, want ErrRolloutsFile", err)
			}
			if got, _ := os.ReadFile(filepath.Join(dir, RolloutsFile)); string(got) != content {
				t.Errorf("the file was changed to %s", got)
			}
		})
	}
	dir := t.TempDir()
	if _, err := EditRollouts(dir, func(ro *Rollouts) error { return ro.Set("hello", "1.0.0", 10, nil, time.Now()) }); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, RolloutsFile))
	if _, err := EditRollouts(dir, func(ro *Rollouts) error { return ro.Set("hello", "1.0.0", 200, nil, time.Now()) }); !errors.Is(err, ErrBadRollout) {
		t.Errorf("err = %v, want ErrBadRollout", err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, RolloutsFile)); string(after) != string(before) {
		t.Errorf("a refused edit changed the file:\n%s\n%s", before, after)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 { // the file and its lock
		t.Errorf("left behind: %v", ents)
	}
}

// TestEditRolloutsConcurrent: editors in parallel (commands, a halting
// server) never lose each other's changes.
func TestEditRolloutsConcurrent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			_, err := EditRollouts(dir, func(ro *Rollouts) error {
				return ro.Pin("hello", "1.0.0", []string{"id-" + string(rune('a'+i))}, nil)
			})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	ro, err := ReadRollouts(dir)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(ro.Apps["hello"].Pins[0].InstallIDs); n != 20 {
		t.Errorf("%d install IDs pinned after 20 concurrent pins", n)
	}
}

// TestServerSignsRolloutChanges: a running server signs a new feed, with
// a higher serial, when the rollouts file changes; and Halt pauses at 0%
// and signs at once.
func TestServerSignsRolloutChanges(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"hello-1.0.0-linux-amd64": "one", "hello-1.1.0-linux-amd64": "two"})
	first := f.payload(t, "hello")
	if first.Releases[0].Rollout != nil {
		t.Fatalf("a rollout before any: %+v", first.Releases[0].Rollout)
	}
	if again := f.payload(t, "hello"); again.Serial != first.Serial {
		t.Fatalf("nothing changed, yet serial %d -> %d", first.Serial, again.Serial)
	}
	set := func(edit func(ro *Rollouts) error) *feed.Payload {
		t.Helper()
		if _, err := EditRollouts(f.dir, edit); err != nil {
			t.Fatal(err)
		}
		return f.payload(t, "hello")
	}
	p := set(func(ro *Rollouts) error { return ro.Set("hello", "1.1.0", 10, nil, f.clock.now()) })
	if p.Serial <= first.Serial || p.Releases[0].Rollout == nil || p.Releases[0].Rollout.Percent != 10 {
		t.Fatalf("after rollout set: serial %d (was %d), rollout %+v", p.Serial, first.Serial, p.Releases[0].Rollout)
	}
	last := p.Serial
	p = set(func(ro *Rollouts) error { return ro.Pin("hello", "1.0.0", nil, []string{"canary"}) })
	if p.Serial <= last || len(p.Pins) != 1 || p.Pins[0].Labels[0] != "canary" {
		t.Fatalf("after pin: serial %d (was %d), pins %+v", p.Serial, last, p.Pins)
	}
	last = p.Serial

	var since time.Time
	halted, err := f.srv.Halt("hello", "1.1.0", func(s time.Time) (bool, string) { since = s; return false, "" })
	if err != nil || halted {
		t.Fatalf("Halt with a verdict of no: %v, %v", halted, err)
	}
	if !since.Equal(f.clock.now()) {
		t.Errorf("judged since %s, want when the rollout was set, %s", since, f.clock.now())
	}
	if p := f.payload(t, "hello"); p.Serial != last {
		t.Errorf("no halt, yet a new feed")
	}
	f.clock.add(time.Minute)
	halted, err = f.srv.Halt("hello", "1.1.0", func(time.Time) (bool, string) { return true, "3 of 3 failed" })
	if err != nil || !halted {
		t.Fatalf("Halt: %v, %v", halted, err)
	}
	p = f.payload(t, "hello")
	if ro := p.Releases[0].Rollout; p.Serial <= last || ro == nil || !ro.Paused || ro.Percent != 0 {
		t.Fatalf("after a halt: serial %d (was %d), rollout %+v", p.Serial, last, ro)
	}
	ro, err := ReadRollouts(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	st := ro.Status("hello", f.clock.now())
	if len(st.Rollouts) != 1 || !st.Rollouts[0].Paused || st.Rollouts[0].Reason != "3 of 3 failed" || st.Rollouts[0].HaltedAt.IsZero() || st.Rollouts[0].Percent != 0 {
		t.Errorf("status after a halt: %+v", st.Rollouts)
	}
	if halted, _ := f.srv.Halt("hello", "1.1.0", func(time.Time) (bool, string) { return true, "again" }); halted {
		t.Error("halted a halted rollout again")
	}
	if halted, _ := f.srv.Halt("hello", "1.0.0", func(time.Time) (bool, string) { return true, "x" }); halted {
		t.Error("halted a release without a rollout")
	}

	// Abort: the feed lists it as withdrawn and no longer lists it.
	p = set(func(ro *Rollouts) error { return ro.Abort("hello", "1.1.0", f.clock.now()) })
	if !slices.Equal(p.Withdrawn, []string{"1.1.0"}) || len(p.Releases) != 1 || p.Releases[0].Version != "1.0.0" {
		t.Errorf("after abort: withdrawn %v, releases %+v", p.Withdrawn, p.Releases)
	}
}

// TestPublishCarriesRollouts: publish to a store signs the rollouts, pins
// and withdrawn releases of the folder into the feed it puts there.
func TestPublishCarriesRollouts(t *testing.T) {
	t.Parallel()
	dir, out := t.TempDir(), t.TempDir()
	writeFile(t, dir, "hello-1.0.0-linux-amd64", "one", time.Now())
	writeFile(t, dir, "hello-1.1.0-linux-amd64", "two", time.Now())
	writeFile(t, dir, "hello-1.2.0-linux-amd64", "three", time.Now())
	now := time.Now()
	phases, _ := ParsePhases("1%@0h,10%@24h,100%@72h", now)
	if _, err := EditRollouts(dir, func(ro *Rollouts) error {
		return errors.Join(ro.Set("hello", "1.2.0", 0, phases, now), ro.Abort("hello", "1.1.0", now),
			ro.Pin("hello", "1.0.0", []string{"machine-1"}, nil))
	}); err != nil {
		t.Fatal(err)
	}
	signer, keys := newKey(t)
	store := &DirStore{Dir: out}
	if _, err := Publish(context.Background(), dir, signer, store, PublishOptions{Logger: testLogger(t)}); err != nil {
		t.Fatal(err)
	}
	data, err := store.Get(context.Background(), "hello/feed.json")
	if err != nil {
		t.Fatal(err)
	}
	p, err := feed.Parse(data, keys)
	if err != nil {
		t.Fatal(err)
	}
	var versions []string
	for _, r := range p.Releases {
		versions = append(versions, r.Version)
	}
	if strings.Join(versions, ",") != "1.2.0,1.0.0" || len(p.Releases[0].Rollout.Phases) != 3 || p.Releases[1].Rollout != nil {
		t.Errorf("releases %v, rollout %+v", versions, p.Releases[0].Rollout)
	}
	if !slices.Equal(p.Withdrawn, []string{"1.1.0"}) || len(p.Pins) != 1 || p.Pins[0].InstallIDs[0] != "machine-1" {
		t.Errorf("withdrawn %v, pins %+v", p.Withdrawn, p.Pins)
	}
	if _, err := os.Stat(filepath.Join(out, "hello", RolloutsFile)); err == nil {
		t.Error("the rollouts file was published: it is the publisher's, not the clients'")
	}
}
