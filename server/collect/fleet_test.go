package collect

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/molt-go/update/agent/deploylog"
	"github.com/molt-go/update/agent/deploylog/logtest"
	"github.com/molt-go/update/report"
	"github.com/molt-go/update/step"
)

func TestRunning(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		step      step.Name
		from, to  string
		err, want string
	}{
		{step.Find, "1.0.0", "", "", "1.0.0"},
		{step.Find, "1.0.0", "1.1.0", "", "1.0.0"},
		{step.Probe, "1.0.0", "1.1.0", "probe: wrong version", "1.0.0"},
		{step.Apply, "1.0.0", "1.1.0", "", "1.0.0"}, // applied, not yet started
		{step.Restart, "1.0.0", "1.1.0", "", "1.1.0"},
		{step.Confirm, "1.0.0", "1.1.0", "", "1.1.0"}, // the new version confirms itself
		{step.Confirm, "1.0.0", "1.1.0", "state: disk full", "1.1.0"},
		{step.Confirm, "1.1.0", "", "", "1.1.0"},
		{step.Rollback, "1.1.0", "1.0.0", "", "1.0.0"},
		{step.Rollback, "1.1.0", "1.0.0", "no backup", "1.1.0"},
	} {
		ev := Event{Step: tc.step, From: tc.from, To: tc.to, Error: tc.err}
		if got := Running(ev); got != tc.want {
			t.Errorf("%s %s -> %s (error %q): running %s, want %s", tc.step, tc.from, tc.to, tc.err, got, tc.want)
		}
	}
}

// fleetStory is the events of five machines of hello, from t0:
//
//	m1 updates to 1.1.0, confirms it and finds itself up to date
//	m2 finds nothing newer (no deployment in the log)
//	m3 fails its probe of 1.1.0 and stays on 1.0.0
//	m4 starts 1.1.0, which rolls back to 1.0.0
//	m5 starts v1.1.0 (written with a "v"), whose rollback fails
func fleetStory(t0 time.Time) []Event {
	at := func(ev Event, s int) Event {
		ev.App, ev.Start, ev.End = "hello", t0.Add(time.Duration(s)*time.Second), t0.Add(time.Duration(s)*time.Second+100*time.Millisecond)
		return ev
	}
	withLabels := func(evs []Event, id string, labels ...string) []Event {
		for i := range evs {
			evs[i].Labels, evs[i].InstallID = labels, id
		}
		return evs
	}
	evs := withLabels(updateRun(t0, "m1"), "id-m1", "canary")
	// The new process confirms before its first look: no install ID yet.
	evs = append(evs, at(Event{Machine: "m1", Step: step.Confirm, From: "1.0.0", To: "1.1.0", Labels: []string{"canary"}}, 10),
		at(Event{Machine: "m1", Step: step.Find, From: "1.1.0", InstallID: "id-m1", Labels: []string{"canary"}}, 11))
	evs = append(evs, at(Event{Machine: "m2", Step: step.Find, From: "1.0.0", InstallID: "id-m2", Labels: []string{"eu-west"}}, 1))
	probe := updateRun(t0, "m3")[:4]
	probe[3].Error = "update: probe: the new binary says it is 9.9.9"
	evs = append(evs, probe...)
	evs = append(evs, updateRun(t0, "m4")...)
	evs = append(evs, at(Event{Machine: "m4", Step: step.Rollback, From: "1.1.0", To: "1.0.0"}, 20))
	m5 := updateRun(t0, "m5")
	for i := range m5 {
		m5[i].To = "v1.1.0"
	}
	evs = append(evs, m5...)
	evs = append(evs, at(Event{Machine: "m5", Step: step.Rollback, From: "v1.1.0", To: "1.0.0", Error: "no backup"}, 20))
	return evs
}

func versionsOf(ms []Machine) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "%s:%s ", m.Name, m.Version)
	}
	return strings.TrimSpace(b.String())
}

// TestFleetVersions: each machine is on the version it last said it runs,
// whether it updated, failed, rolled back or was up to date all along;
// rebuilt from the deployment log, the fleet says the same of every
// machine that deployed.
func TestFleetVersions(t *testing.T) {
	t.Parallel()
	t0 := time.Now().Add(-time.Minute).UTC()
	s := &deploylog.MemoryStore{}
	f := &Fleet{}
	c := &Collector{Store: s, Logger: quiet(), Fleet: f}
	for _, ev := range fleetStory(t0) {
		if err := c.Collect(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	ms := f.Machines("hello")
	if got, want := versionsOf(ms), "m1:1.1.0 m2:1.0.0 m3:1.0.0 m4:1.0.0 m5:1.1.0"; got != want {
		t.Errorf("live: %s, want %s", got, want)
	}
	m1, m3 := ms[0], ms[2]
	if m1.InstallID != "id-m1" || !slices.Equal(m1.Labels, []string{"canary"}) || m1.Last.Step != step.Find || !m1.Last.At.Equal(t0.Add(11*time.Second+100*time.Millisecond)) {
		t.Errorf("m1: %+v", m1)
	}
	if m3.Last.Step != step.Probe || !strings.Contains(m3.Last.Error, "9.9.9") || m3.Last.To != "1.1.0" {
		t.Errorf("m3's last report: %+v", m3.Last)
	}
	if apps := f.Apps(); !slices.Equal(apps, []string{"hello"}) {
		t.Errorf("apps %v", apps)
	}

	ds, err := s.List(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	rebuilt := FleetOf(ds).Machines("hello")
	if got, want := versionsOf(rebuilt), "m1:1.1.0 m3:1.0.0 m4:1.0.0 m5:1.1.0"; got != want {
		t.Errorf("rebuilt: %s, want %s (m2 never deployed)", got, want)
	}
	if r := rebuilt[0]; !slices.Equal(r.Labels, []string{"canary"}) || r.Last.Step != step.Confirm {
		// The up-to-date find after the confirm opens no deployment.
		t.Errorf("m1 rebuilt: %+v", r)
	}
}

// TestFleetLateEvent: an event that ended before the machine's last
// report changes nothing but a missing install ID.
func TestFleetLateEvent(t *testing.T) {
	t.Parallel()
	t0 := time.Now()
	f := &Fleet{}
	f.Add(Event{App: "a", Machine: "m", Step: step.Confirm, From: "1.0.0", To: "1.1.0", End: t0})
	f.Add(Event{App: "a", Machine: "m", Step: step.Find, From: "1.0.0", To: "1.1.0", InstallID: "id", End: t0.Add(-time.Minute)})
	m := f.Machines("a")
	if len(m) != 1 || m[0].Version != "1.1.0" || m[0].Last.Step != step.Confirm || m[0].InstallID != "id" {
		t.Errorf("after a late event: %+v", m)
	}
	if got := f.Machines("other"); len(got) != 0 {
		t.Errorf("an app that never reported has machines: %+v", got)
	}
}

// TestFleetBounded: a flood of machine names costs a bounded fleet, and
// those that reported last are kept.
func TestFleetBounded(t *testing.T) {
	t.Parallel()
	t0 := time.Now()
	f := &Fleet{}
	long := strings.Repeat("e", 1000)
	for i := range maxMachines + 10 {
		f.Add(Event{App: "a", Machine: fmt.Sprintf("m%06d", i), Step: step.Find, From: "1.0.0", End: t0.Add(time.Duration(i) * time.Millisecond), Error: long})
	}
	ms := f.Machines("a")
	if len(ms) > maxMachines || len(ms) < maxMachines*15/16 {
		t.Fatalf("%d machines remembered, want at most %d and most of them", len(ms), maxMachines)
	}
	if ms[0].Name == "m000000" || ms[len(ms)-1].Name != fmt.Sprintf("m%06d", maxMachines+9) {
		t.Errorf("kept %s to %s: the oldest should go, the newest stay", ms[0].Name, ms[len(ms)-1].Name)
	}
	if e := ms[0].Last.Error; len(e) > maxFleetError+len("…") {
		t.Errorf("an error of %d bytes is kept whole", len(e))
	}
}

// TestFleetLabelsEndToEnd: labels and install IDs go through a Reporter
// and the events endpoint into the fleet, and labels into every store,
// from which a rebuilt fleet has them too.
func TestFleetLabelsEndToEnd(t *testing.T) {
	t.Parallel()
	for name, s := range logtest.Stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := &Fleet{}
			srv := httptest.NewServer(&Collector{Store: s, Logger: quiet(), Fleet: f})
			t.Cleanup(srv.Close)
			r := &report.Reporter{URL: srv.URL + "/events", HTTPClient: srv.Client(), Logger: quiet()}
			evs := updateRun(time.Now().Add(-time.Minute).UTC(), "m1")
			for _, ev := range evs {
				ev.Labels, ev.InstallID = []string{"canary", "eu-west"}, "0123abcd"
				r.Report(ev)
			}
			if err := r.Close(context.Background()); err != nil || r.Dropped() != 0 {
				t.Fatalf("close: %v, %d dropped", err, r.Dropped())
			}
			ms := f.Machines("hello")
			if len(ms) != 1 || ms[0].Version != "1.1.0" || ms[0].InstallID != "0123abcd" || !slices.Equal(ms[0].Labels, []string{"canary", "eu-west"}) {
				t.Errorf("live fleet: %+v", ms)
			}
			ds, err := s.List(context.Background(), 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(ds) != 1 || !slices.Equal(ds[0].Labels, []string{"canary", "eu-west"}) {
				t.Fatalf("stored: %+v", ds)
			}
			if ms := FleetOf(ds).Machines("hello"); len(ms) != 1 || ms[0].Version != "1.1.0" || !slices.Equal(ms[0].Labels, []string{"canary", "eu-west"}) {
				t.Errorf("rebuilt fleet: %+v", ms)
			}
		})
	}
}
