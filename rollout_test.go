package update

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/molt-go/update/source"
	"github.com/molt-go/update/updatetest"
)

// TestBucketsAreStableAndSpread: a machine's bucket for a release never
// changes, buckets spread evenly, and another release draws another set.
func TestBucketsAreStableAndSpread(t *testing.T) {
	t.Parallel()
	const n = 20000
	in10, both := 0, 0
	for i := range n {
		id := fmt.Sprintf("machine-%d", i)
		b := bucket(id, "hello", "1.1.0")
		if b != bucket(id, "hello", "1.1.0") || b < 0 || b >= 100 {
			t.Fatalf("bucket(%s) = %v, unstable or out of range", id, b)
		}
		if b < 10 {
			in10++
			if bucket(id, "hello", "1.2.0") < 10 {
				both++
			}
		}
	}
	if got := float64(in10) / n * 100; math.Abs(got-10) > 1 {
		t.Errorf("%.2f%% of machines fall under 10%%, want 10±1", got)
	}
	// Independent draws: about 10% of the first 10% are in the second.
	if got := float64(both) / float64(in10) * 100; math.Abs(got-10) > 3 {
		t.Errorf("%.1f%% of 1.1.0's first tenth are in 1.2.0's, want about 10 (independent sets)", got)
	}
}

func TestOfferedByPhases(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	r := &source.Rollout{Phases: []source.Phase{{Percent: 1, Start: t0}, {Percent: 10, Start: t0.Add(24 * time.Hour)}, {Percent: 100, Start: t0.Add(72 * time.Hour)}}}
	cases := []struct {
		b      float64
		now    time.Time
		ok     bool
		waitTo time.Time
	}{
		{0.5, t0, true, time.Time{}},
		{5, t0, false, t0.Add(24 * time.Hour)},
		{5, t0.Add(25 * time.Hour), true, time.Time{}},
		{50, t0.Add(25 * time.Hour), false, t0.Add(72 * time.Hour)},
		{99.9, t0.Add(72 * time.Hour), true, time.Time{}},
		{0.5, t0.Add(-time.Hour), false, t0},
	}
	for _, c := range cases {
		ok, at := offered(r, c.b, c.now)
		if ok != c.ok || !at.Equal(c.waitTo) {
			t.Errorf("bucket %v at %v: offered %v from %v, want %v from %v", c.b, c.now, ok, at, c.ok, c.waitTo)
		}
	}
	paused := &source.Rollout{Phases: r.Phases, Paused: true, Percent: 10}
	if ok, _ := offered(paused, 20, t0.Add(100*time.Hour)); ok {
		t.Error("a paused rollout offered the release beyond its frozen fraction")
	}
	if ok, _ := offered(paused, 5, t0.Add(100*time.Hour)); !ok {
		t.Error("a paused rollout took the release from machines already under its fraction")
	}
	if ok, _ := offered(nil, 99, t0); !ok {
		t.Error("a release without a rollout was not offered")
	}
}

// TestChooseFleet: a rollout that does not offer the release says when it
// will, and a pin holds a machine at its version.
func TestChooseFleet(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	none := func(string) *badMark { return nil }
	r11 := rel("1.1.0", "linux", "amd64")
	r12 := rel("1.2.0", "linux", "amd64")
	r12.Rollout = &source.Rollout{Phases: []source.Phase{{Percent: 0, Start: now.Add(-time.Hour)}, {Percent: 100, Start: now.Add(time.Hour)}}}
	ch := chooser{current: semver.MustParse("1.0.0"), goos: "linux", goarch: "amd64", bad: none, app: "app", installID: "m1", now: now}
	c, _, notYet, err := ch.choose([]source.Release{r11, r12})
	if err != nil || c.version.Original() != "1.1.0" || len(notYet) != 1 || !notYet[0].At.Equal(now.Add(time.Hour)) {
		t.Fatalf("choose with 1.2.0 rolling out = %v, %+v, %v; want 1.1.0, 1.2.0 from %v", c, notYet, err, now.Add(time.Hour))
	}
	ch.current = semver.MustParse("1.1.0")
	if _, _, _, err := ch.choose([]source.Release{r11, r12}); !errors.Is(err, ErrUpToDate) || !strings.Contains(err.Error(), "not offered to this machine yet") {
		t.Fatalf("choose from 1.1.0 = %v, want up to date saying 1.2.0 is not offered yet", err)
	}
	ch.current = semver.MustParse("1.0.0")
	ch.pins = []source.Pin{{Version: "1.1.0", Labels: []string{"canary"}}}
	ch.labels = []string{"canary"}
	r13 := rel("1.3.0", "linux", "amd64")
	if c, _, _, err := ch.choose([]source.Release{r11, r12, r13}); err != nil || c.version.Original() != "1.1.0" {
		t.Fatalf("a machine pinned at 1.1.0 chose %v, %v", c, err)
	}
	ch.current = semver.MustParse("1.1.0")
	if _, _, _, err := ch.choose([]source.Release{r11, r12, r13}); !errors.Is(err, ErrUpToDate) || !strings.Contains(err.Error(), "pinned at 1.1.0") {
		t.Fatalf("a machine at its pin = %v, want up to date saying it is pinned", err)
	}
	ch.labels = nil
	if c, _, _, err := ch.choose([]source.Release{r11, r12, r13}); err != nil || c.version.Original() != "1.3.0" {
		t.Fatalf("unpinned, the machine chose %v, %v; want 1.3.0", c, err)
	}
}

// TestWithdrawnGoesBack: a confirmed release that the publisher withdraws
// (an aborted rollout) is rolled back at the next check to the version
// before it, the event says from where to where (the collector needs both
// to file it under the deployment it undoes), and it is not offered again.
func TestWithdrawnGoesBack(t *testing.T) {
	t.Parallel()
	o, _ := installed11(t)
	rs := &updatetest.Restarter{}
	o.Restarter = rs
	u, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Confirm(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := readStateFile(t, o.StateDir); s.Previous != "1.0.0" || s.Pending != nil {
		t.Fatalf("state after the confirm: previous %q, pending %+v; want 1.0.0 and none", s.Previous, s.Pending)
	}
	m := o.Source.(*memSource)
	m.mu.Lock()
	l := m.listing
	m.mu.Unlock()
	l.Serial++
	l.Withdrawn, l.Releases = []string{"1.1.0"}, nil
	m.setListing(l, nil)
	evs := new(events).record(&o)
	u, err = New(o)
	if err != nil {
		t.Fatal(err)
	}
	_, err = u.Check(context.Background())
	var ue *Error
	if !errors.Is(err, ErrRolledBack) || !errors.As(err, &ue) || ue.From != "1.1.0" || ue.To != "1.0.0" {
		t.Fatalf("Check of a withdrawn 1.1.0: %v (%+v), want ErrRolledBack from 1.1.0 to 1.0.0", err, ue)
	}
	if got := content(t, o.Target); got != "old" {
		t.Fatalf("target %q after the withdrawal, want old", got)
	}
	if n := len(rs.Calls()); n != 1 {
		t.Fatalf("restarted %d times, want once into 1.0.0", n)
	}
	rb := evs.of(StepRollback)
	if len(rb) != 1 || rb[0].From != "1.1.0" || rb[0].To != "1.0.0" || rb[0].Err != nil {
		t.Fatalf("rollback events %+v, want one from 1.1.0 to 1.0.0", rb)
	}
	s := readStateFile(t, o.StateDir)
	if s.Previous != "" || s.badMarkOf("1.1.0") == nil {
		t.Fatalf("state after the rollback: previous %q, bad %+v; want none and 1.1.0 marked", s.Previous, s.Bad)
	}
}
