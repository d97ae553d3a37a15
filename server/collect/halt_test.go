package collect

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/molt-go/update/agent/deploylog"
	"github.com/molt-go/update/step"
)

func TestHaltRule(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		rule HaltRule
		c    Counts
		halt bool
	}{
		{DefaultHaltRule, Counts{}, false},
		{DefaultHaltRule, Counts{Tried: 2, Failed: 2}, false},     // too few machines, whatever the share
		{DefaultHaltRule, Counts{Tried: 3, Failed: 3}, true},      // 3 machines, 100%
		{DefaultHaltRule, Counts{Tried: 60, Failed: 3}, true},     // exactly 5%
		{DefaultHaltRule, Counts{Tried: 61, Failed: 3}, false},    // under 5%
		{DefaultHaltRule, Counts{Tried: 1000, Failed: 49}, false}, // many machines, 4.9%
		{DefaultHaltRule, Counts{Tried: 1000, Failed: 50}, true},
		{HaltRule{MinMachines: 1, Percent: 0}, Counts{Tried: 500, Failed: 1}, true},
		{HaltRule{MinMachines: 0, Percent: 0}, Counts{Tried: 5, Failed: 5}, false}, // off
		{HaltRule{MinMachines: 3, Percent: 50}, Counts{Tried: 10, Failed: 4}, false},
		{HaltRule{MinMachines: 3, Percent: 50}, Counts{Tried: 0, Failed: 4}, false}, // nonsense counts
	} {
		halt, why := c.rule.Halt(c.c)
		if halt != c.halt {
			t.Errorf("%+v on %+v: halt %v, want %v", c.rule, c.c, halt, c.halt)
		}
		if halt && !strings.Contains(why, fmt.Sprintf("%d of %d machines", c.c.Failed, c.c.Tried)) {
			t.Errorf("reason %q does not give the counts %+v", why, c.c)
		}
		if !halt && why != "" {
			t.Errorf("a reason without a halt: %q", why)
		}
	}
}

// stepOf is a stored step of machine m updating hello to 1.2.0.
func stepOf(m string, s step.Name, failure string) deploylog.StepLog {
	st := deploylog.StepLog{Step: s, Project: "hello", Machine: m, From: "1.1.0", To: "1.2.0", Error: failure}
	if s == step.Rollback {
		st.From, st.To = "1.2.0", "1.1.0"
	}
	return st
}

func TestTally(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var tl Tally
	add := func(s deploylog.StepLog, at time.Time, wantFailed bool) {
		t.Helper()
		app, v, failed := tl.Add(s, at)
		if failed != wantFailed || (app != "" && (app != "hello" || v != "1.2.0")) {
			t.Errorf("Add(%s %s %q) = %s %s %v, want failed %v", s.Machine, s.Step, s.Error, app, v, failed, wantFailed)
		}
	}
	add(stepOf("a", step.Find, ""), t0, false)
	add(stepOf("a", step.Download, ""), t0, false)
	add(stepOf("a", step.Probe, "wrong version"), t0, true)
	add(stepOf("a", step.Probe, "wrong version"), t0, true) // the same machine twice
	add(stepOf("b", step.Find, ""), t0, false)
	add(stepOf("b", step.Download, "connection reset"), t0, false) // the network, not the release
	add(stepOf("c", step.Find, ""), t0.Add(time.Hour), false)
	add(stepOf("c", step.Rollback, ""), t0.Add(time.Hour), true)
	add(stepOf("d", step.Restart, "exec: permission denied"), t0.Add(2*time.Hour), true)
	add(deploylog.StepLog{Step: step.Find, Project: "hello", Machine: "e", From: "1.1.0"}, t0, false) // chose nothing
	// v1.2.0 and 1.2.0 are one release.
	if got := tl.Counts("hello", "v1.2.0", time.Time{}); got != (Counts{Tried: 4, Failed: 3}) {
		t.Errorf("all counts %+v, want 4 tried, 3 failed", got)
	}
	if got := tl.Counts("hello", "1.2.0", t0.Add(time.Hour)); got != (Counts{Tried: 2, Failed: 2}) {
		t.Errorf("counts since an hour %+v, want 2 tried, 2 failed", got)
	}
	if got := tl.Counts("other", "1.2.0", time.Time{}); got != (Counts{}) {
		t.Errorf("another app: %+v", got)
	}
	if got := tl.Counts("hello", "1.1.0", time.Time{}); got != (Counts{}) {
		t.Errorf("the version rolled back to counts as tried: %+v", got)
	}

	log := []deploylog.Deployment{{Steps: []deploylog.StepLog{stepOf("a", step.Find, ""), stepOf("a", step.Probe, "bad")}},
		{Steps: []deploylog.StepLog{stepOf("b", step.Find, "")}}}
	log[0].Steps[0].End, log[0].Steps[1].End, log[1].Steps[0].Start = t0, t0, t0
	if got := TallyOf(log).Counts("hello", "1.2.0", t0); got != (Counts{Tried: 2, Failed: 1}) {
		t.Errorf("TallyOf: %+v", got)
	}
}

// TestWatchHalts: the collector's store counts what machines report and
// halts a release when the rule is met, not before; the judge counts
// from the time the halter gives.
func TestWatchHalts(t *testing.T) {
	t.Parallel()
	store := &deploylog.MemoryStore{}
	var mu sync.Mutex
	var halts []string
	since := time.Time{}
	w := &Watch{
		Store: store,
		Tally: &Tally{},
		Rule:  DefaultHaltRule,
		Halt: func(app, version string, judge func(time.Time) (bool, string)) (bool, error) {
			mu.Lock()
			defer mu.Unlock()
			ok, why := judge(since)
			if ok {
				halts = append(halts, app+" "+version+": "+why)
			}
			return ok, nil
		},
		Logger: quiet(),
	}
	c := &Collector{Store: w, Logger: quiet()}
	t0 := time.Now().Add(-time.Minute)
	report := func(m string, failing bool) {
		t.Helper()
		for i, ev := range updateRun(t0, m) {
			ev.To = "1.2.0"
			if failing && ev.Step == step.Probe {
				ev.Error = "probe: the new binary says it is 9.9.9"
			}
			if err := c.Collect(context.Background(), ev); err != nil {
				t.Fatal(err)
			}
			if failing && i == 3 {
				return
			}
		}
	}
	for i := range 40 {
		report(fmt.Sprintf("ok-%d", i), false)
	}
	report("bad-1", true)
	report("bad-2", true)
	if len(halts) != 0 {
		t.Fatalf("halted at 2 failures: %v", halts)
	}
	report("bad-3", true) // 3 of 43: 7%
	if len(halts) != 1 || !strings.Contains(halts[0], "hello 1.2.0: 3 of 43 machines") {
		t.Fatalf("halts %v, want one at 3 of 43", halts)
	}
	// The steps are in the log all the same.
	ds, err := store.List(context.Background(), 0)
	if err != nil || len(ds) != 43 {
		t.Fatalf("%d deployments, %v", len(ds), err)
	}

	// Counted from a resume: the old failures no longer count.
	mu.Lock()
	since, halts = time.Now(), nil
	mu.Unlock()
	report("bad-4", true)
	report("bad-5", true)
	if len(halts) != 0 {
		t.Errorf("halted again at 2 failures since the resume: %v", halts)
	}

	// A halter that fails does not lose the step.
	w.Halt = func(string, string, func(time.Time) (bool, string)) (bool, error) {
		return false, errors.New("disk full")
	}
	report("bad-6", true)
	if ds, _ := store.List(context.Background(), 0); len(ds) != 46 {
		t.Errorf("%d deployments after a failed halt, want 46", len(ds))
	}
}
