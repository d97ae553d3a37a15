package collect

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/molt-go/update/step"

	"github.com/molt-go/update/agent/deploylog/logtest"

	"github.com/molt-go/update/agent/deploylog"

	"github.com/molt-go/update/report"
)

// updateRun is the events of one update run from 1.0.0 to 1.1.0 on
// machine m, as an updater emits them, starting at t0.
func updateRun(t0 time.Time, machine string) []Event {
	var evs []Event
	for i, s := range []step.Name{step.Find, step.Download, step.Verify, step.Probe, step.Apply, step.Restart} {
		ev := Event{App: "hello", Machine: machine, Step: s, From: "1.0.0", To: "1.1.0",
			Start: t0.Add(time.Duration(i) * time.Second), End: t0.Add(time.Duration(i)*time.Second + 500*time.Millisecond)}
		if s == step.Download {
			ev.Bytes = 4096
		}
		evs = append(evs, ev)
	}
	return evs
}

// collectAll sends evs through a Reporter to a Collector served on
// 127.0.0.1, and returns the store's deployments, newest first.
func collectAll(t *testing.T, s deploylog.Store, evs ...Event) []deploylog.Deployment {
	t.Helper()
	srv := httptest.NewServer(&Collector{Store: s, Logger: quiet()})
	t.Cleanup(srv.Close)
	r := &report.Reporter{URL: srv.URL + "/events", HTTPClient: srv.Client(), Logger: quiet()}
	for _, ev := range evs {
		r.Report(ev)
	}
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := r.Dropped(); n != 0 {
		t.Fatalf("%d events dropped", n)
	}
	ds, err := s.List(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestCollectGroupsAnUpdate(t *testing.T) {
	t.Parallel()
	for name, s := range logtest.Stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			t0 := time.Now().Add(-time.Minute).UTC()
			evs := updateRun(t0, "m1")
			// The new version confirms, then finds itself up to date.
			evs = append(evs,
				Event{App: "hello", Machine: "m1", Step: step.Confirm, From: "1.0.0", To: "1.1.0", Start: t0.Add(10 * time.Second), End: t0.Add(10 * time.Second)},
				Event{App: "hello", Machine: "m1", Step: step.Find, From: "1.1.0", Start: t0.Add(11 * time.Second), End: t0.Add(12 * time.Second)},
			)
			ds := collectAll(t, s, evs...)
			if len(ds) != 1 {
				t.Fatalf("%d deployments, want 1: %+v", len(ds), ds)
			}
			d := ds[0]
			if d.Project != "hello" || d.Machine != "m1" || d.From != "1.0.0" || d.To != "1.1.0" || d.Status != deploylog.StatusDone || d.Error != "" {
				t.Errorf("deployment %+v", d)
			}
			if !d.Start.Equal(t0) || !d.End.Equal(evs[5].End) {
				t.Errorf("deployment runs %v to %v, want %v to %v", d.Start, d.End, t0, evs[5].End)
			}
			if got, want := logtest.StepNames(&d), "find,download,verify,probe,apply,restart,confirm"; got != want {
				t.Errorf("steps %s, want %s", got, want)
			}
			if b := d.Steps[1].Bytes; b != 4096 {
				t.Errorf("download step has %d bytes, want 4096", b)
			}
		})
	}
}

func TestCollectFailedStepEndsTheDeployment(t *testing.T) {
	t.Parallel()
	t0 := time.Now().Add(-time.Minute)
	evs := updateRun(t0, "m1")[:4]
	evs[3].Error = "update: probe: exec format error"
	// The next run of the same version tries again.
	evs = append(evs, updateRun(t0.Add(20*time.Second), "m1")[:2]...)
	ds := collectAll(t, &deploylog.MemoryStore{}, evs...)
	if len(ds) != 2 {
		t.Fatalf("%d deployments, want 2", len(ds))
	}
	failed, next := ds[1], ds[0]
	if failed.Status != deploylog.StatusFailed || failed.Error != evs[3].Error || logtest.StepNames(&failed) != "find,download,verify,probe" || !failed.Steps[3].Failed() {
		t.Errorf("failed deployment %+v", failed)
	}
	if next.Status != deploylog.StatusRunning || logtest.StepNames(&next) != "find,download" {
		t.Errorf("next deployment %+v", next)
	}
}

func TestCollectRollbackFailsTheDeployment(t *testing.T) {
	t.Parallel()
	t0 := time.Now().Add(-time.Minute)
	evs := append(updateRun(t0, "m1"), Event{App: "hello", Machine: "m1", Step: step.Rollback, From: "1.1.0", To: "1.0.0", Start: t0.Add(30 * time.Second), End: t0.Add(31 * time.Second)})
	ds := collectAll(t, &deploylog.MemoryStore{}, evs...)
	if len(ds) != 1 {
		t.Fatalf("%d deployments, want 1", len(ds))
	}
	d := ds[0]
	if d.Status != deploylog.StatusFailed || d.Error != "rolled back to 1.0.0" || logtest.StepNames(&d) != "find,download,verify,probe,apply,restart,rollback" || !d.End.Equal(t0.Add(31*time.Second)) {
		t.Errorf("deployment %+v", d)
	}
}

func TestCollectAbandonedRun(t *testing.T) {
	t.Parallel()
	t0 := time.Now().Add(-time.Minute)
	// The program was killed during its download, and later tried again.
	evs := append(updateRun(t0, "m1")[:2], updateRun(t0.Add(10*time.Second), "m1")...)
	ds := collectAll(t, &deploylog.MemoryStore{}, evs...)
	if len(ds) != 2 {
		t.Fatalf("%d deployments, want 2", len(ds))
	}
	if d := ds[1]; d.Status != deploylog.StatusFailed || !strings.Contains(d.Error, "abandoned") || logtest.StepNames(&d) != "find,download" {
		t.Errorf("abandoned deployment %+v", d)
	}
	if d := ds[0]; d.Status != deploylog.StatusDone || logtest.StepNames(&d) != "find,download,verify,probe,apply,restart" {
		t.Errorf("second deployment %+v", d)
	}
}

func TestCollectKeepsMachinesApart(t *testing.T) {
	t.Parallel()
	t0 := time.Now().Add(-time.Minute)
	a, b := updateRun(t0, "a"), updateRun(t0, "b")
	var evs []Event
	for i := range a {
		evs = append(evs, a[i], b[i])
	}
	ds := collectAll(t, &deploylog.MemoryStore{}, evs...)
	if len(ds) != 2 || ds[0].Machine == ds[1].Machine {
		t.Fatalf("deployments %+v, want one per machine", ds)
	}
	for _, d := range ds {
		if d.Status != deploylog.StatusDone || logtest.StepNames(&d) != "find,download,verify,probe,apply,restart" {
			t.Errorf("machine %s: %s %s", d.Machine, d.Status, logtest.StepNames(&d))
		}
	}
}

func TestCollectStepWithoutFind(t *testing.T) {
	t.Parallel()
	// The collector restarted mid-run: the rest of the run is still kept.
	t0 := time.Now().Add(-time.Minute)
	ds := collectAll(t, &deploylog.MemoryStore{}, updateRun(t0, "m1")[3:]...)
	if len(ds) != 1 || ds[0].Status != deploylog.StatusDone || logtest.StepNames(&ds[0]) != "probe,apply,restart" || ds[0].To != "1.1.0" {
		t.Fatalf("deployments %+v", ds)
	}
}

func TestCollectCutsLongErrors(t *testing.T) {
	t.Parallel()
	ev := updateRun(time.Now().Add(-time.Minute), "m1")[0]
	ev.Error = strings.Repeat("é", maxErrorText) // 2 bytes a rune: cut in the middle of one
	ds := collectAll(t, &deploylog.MemoryStore{}, ev)
	if len(ds) != 1 {
		t.Fatalf("%d deployments", len(ds))
	}
	got := ds[0].Error
	if len(got) > maxErrorText+len("…") || !strings.HasSuffix(got, "é…") {
		t.Errorf("error cut to %d bytes, ending %q", len(got), got[len(got)-8:])
	}
}

// post sends body to h as a reporter would, with content type ct.
func post(t *testing.T, h http.Handler, ct string, body []byte) int {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/events", bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

func TestCollectRefusesBadEvents(t *testing.T) {
	t.Parallel()
	now := time.Now()
	good := Event{App: "hello", Machine: "m1", Step: step.Download, From: "1.0.0", To: "1.1.0", Start: now.Add(-time.Second), End: now}
	bad := map[string]func(*Event){
		"no app":           func(e *Event) { e.App = "" },
		"no machine":       func(e *Event) { e.Machine = "" },
		"no from":          func(e *Event) { e.From = "" },
		"no to":            func(e *Event) { e.To = "" },
		"unknown step":     func(e *Event) { e.Step = "build" },
		"long app":         func(e *Event) { e.App = strings.Repeat("a", maxField+1) },
		"control char":     func(e *Event) { e.Machine = "m\n<script>" },
		"no start":         func(e *Event) { e.Start = time.Time{} },
		"end before start": func(e *Event) { e.End = e.Start.Add(-time.Second) },
		"too long a step":  func(e *Event) { e.Start = e.End.Add(-maxStepTime - time.Second) },
		"too old":          func(e *Event) { e.Start, e.End = now.Add(-maxAge-time.Hour), now.Add(-maxAge-time.Hour) },
		"from the future":  func(e *Event) { e.Start, e.End = now.Add(maxSkew+time.Hour), now.Add(maxSkew+time.Hour) },
		"negative bytes":   func(e *Event) { e.Bytes = -1 },
		"too many labels":  func(e *Event) { e.Labels = strings.Split("a,b,c,d,e,f,g,h,i", ",") },
		"long label":       func(e *Event) { e.Labels = []string{strings.Repeat("l", maxLabel+1)} },
		"empty label":      func(e *Event) { e.Labels = []string{"canary", ""} },
		"spaced label":     func(e *Event) { e.Labels = []string{" canary"} },
		"long install ID":  func(e *Event) { e.InstallID = strings.Repeat("0", maxField+1) },
	}
	s := &deploylog.MemoryStore{}
	c := &Collector{Store: s, Logger: quiet()}
	for name, mutate := range bad {
		ev := good
		mutate(&ev)
		if err := c.Collect(context.Background(), ev); !errors.Is(err, deploylog.ErrInvalidEvent) {
			t.Errorf("%s: Collect = %v, want ErrInvalidEvent", name, err)
		}
		body, _ := json.Marshal(ev)
		if code := post(t, c, "application/json", body); code != http.StatusBadRequest {
			t.Errorf("%s: POST answered %d, want 400", name, code)
		}
	}
	// Invalid UTF-8 cannot come through JSON (the decoder replaces it),
	// only through Collect.
	notUTF8 := good
	notUTF8.To = "1.1.0\xff"
	if err := c.Collect(context.Background(), notUTF8); !errors.Is(err, deploylog.ErrInvalidEvent) {
		t.Errorf("not UTF-8: Collect = %v, want ErrInvalidEvent", err)
	}
	body, _ := json.Marshal(good)
	for _, tc := range []struct {
		name string
		ct   string
		body []byte
		want int
	}{
		{"not json", "text/plain", body, http.StatusUnsupportedMediaType},
		{"form", "application/x-www-form-urlencoded", body, http.StatusUnsupportedMediaType},
		{"two events", "application/json", append(append([]byte{}, body...), body...), http.StatusBadRequest},
		{"garbage", "application/json", []byte(`{"app":`), http.StatusBadRequest},
		{"too large", "application/json", append([]byte(`{"error":"`), bytes.Repeat([]byte("x"), maxEventBody)...), http.StatusRequestEntityTooLarge},
	} {
		if code := post(t, c, tc.ct, tc.body); code != tc.want {
			t.Errorf("%s: POST answered %d, want %d", tc.name, code, tc.want)
		}
	}
	if code, _ := get(t, c, "/events"); code != http.StatusMethodNotAllowed {
		t.Errorf("GET answered %d, want 405", code)
	}
	if ds, _ := s.List(context.Background(), 0); len(ds) != 0 {
		t.Errorf("refused events were stored: %+v", ds)
	}
	// The same event, valid, is taken; a charset parameter is fine.
	if code := post(t, c, "application/json; charset=utf-8", body); code != http.StatusNoContent {
		t.Errorf("a valid event answered %d, want 204", code)
	}
	if ds, _ := s.List(context.Background(), 0); len(ds) != 1 {
		t.Errorf("%d deployments after a valid event, want 1", len(ds))
	}
}

func TestCollectForgetsOldestOpenRun(t *testing.T) {
	t.Parallel()
	s := &deploylog.MemoryStore{}
	c := &Collector{Store: s, Logger: quiet()}
	t0 := time.Now().Add(-time.Hour)
	for i := range maxRuns + 1 {
		ev := updateRun(t0.Add(time.Duration(i)*time.Millisecond), "m1")[0]
		ev.From = fmt.Sprintf("0.0.%d", i)
		if err := c.Collect(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(c.open); n != maxRuns {
		t.Errorf("%d runs open, want at most %d", n, maxRuns)
	}
	first, err := s.Get(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if first.Status != deploylog.StatusFailed || !strings.Contains(first.Error, "abandoned") {
		t.Errorf("the oldest run is %s %q, want failed as abandoned", first.Status, first.Error)
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b)
}
