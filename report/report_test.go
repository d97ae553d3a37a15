package report

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/molt-go/update/step"
)

// sink is a server on 127.0.0.1 that records the bodies posted to it. When
// gate is not nil, each request first says it arrived on arrived and then
// waits for gate to be closed (or for the request to be cancelled).
type sink struct {
	srv     *httptest.Server
	mu      sync.Mutex
	bodies  []map[string]any
	events  []Event
	status  int
	gate    chan struct{}
	arrived chan struct{}
}

func newSink(t *testing.T, gated bool) *sink {
	t.Helper()
	s := &sink{status: http.StatusNoContent}
	if gated {
		s.gate, s.arrived = make(chan struct{}), make(chan struct{}, 100)
	}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Read first: the server notices a client hanging up (and cancels
		// r.Context) only once the body has been read.
		b, _ := io.ReadAll(r.Body)
		if s.gate != nil {
			s.arrived <- struct{}{}
			select {
			case <-s.gate:
			case <-r.Context().Done():
				return
			}
		}
		var raw map[string]any
		var ev Event
		json.Unmarshal(b, &raw)
		json.Unmarshal(b, &ev)
		s.mu.Lock()
		s.bodies, s.events = append(s.bodies, raw), append(s.events, ev)
		status := s.status
		s.mu.Unlock()
		if r.Header.Get("Content-Type") != "application/json" {
			status = http.StatusUnsupportedMediaType
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *sink) got() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

func (s *sink) reporter(queue int) *Reporter {
	return &Reporter{URL: s.srv.URL + "/events", HTTPClient: s.srv.Client(), Logger: quiet(), QueueSize: queue}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// updateRun is the events of one update run from 1.0.0 to 1.1.0 on
// machine, as an updater emits them, starting at t0.
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

func TestReporterSendsInOrder(t *testing.T) {
	t.Parallel()
	s := newSink(t, false)
	r := s.reporter(0)
	evs := updateRun(time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC), "m1")
	evs[2].Error = "not verified"
	for _, ev := range evs {
		r.Report(ev)
	}
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := s.got()
	if len(got) != len(evs) {
		t.Fatalf("%d events arrived after Flush, want %d", len(got), len(evs))
	}
	for i := range evs {
		if got[i].Step != evs[i].Step || !got[i].Start.Equal(evs[i].Start) || got[i].Error != evs[i].Error || got[i].Bytes != evs[i].Bytes {
			t.Errorf("event %d arrived as %+v, sent %+v", i, got[i], evs[i])
		}
	}
	// The wire names, as other reporters than this package's must send them.
	want := map[string]any{"app": "hello", "machine": "m1", "step": "download", "from": "1.0.0", "to": "1.1.0", "bytes": 4096.0, "start": "2026-05-06T07:08:10Z", "end": "2026-05-06T07:08:10.5Z"}
	for k, v := range want {
		if s.bodies[1][k] != v {
			t.Errorf("wire field %q = %v, want %v (body %v)", k, s.bodies[1][k], v, s.bodies[1])
		}
	}
	if s.bodies[2]["error"] != "not verified" {
		t.Errorf("wire error = %v", s.bodies[2]["error"])
	}
	// Flush leaves the reporter open.
	r.Report(evs[0])
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(s.got()); n != len(evs)+1 || r.Dropped() != 0 {
		t.Errorf("%d events arrived, %d dropped; want %d and 0", n, r.Dropped(), len(evs)+1)
	}
}

func TestReporterDropsWhenTheQueueIsFull(t *testing.T) {
	t.Parallel()
	s := newSink(t, true)
	r := s.reporter(2)
	evs := updateRun(time.Now().Add(-time.Minute), "m1")
	r.Report(evs[0])
	<-s.arrived // the first is in flight and holds the sender
	for _, ev := range evs[1:] {
		r.Report(ev) // two fit in the queue; Report returns for the rest too
	}
	if n := r.Dropped(); n != len(evs)-3 {
		t.Errorf("%d dropped, want %d", n, len(evs)-3)
	}
	close(s.gate)
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := s.got()
	if len(got) != 3 || got[0].Step != step.Find || got[1].Step != step.Download || got[2].Step != step.Verify {
		t.Errorf("arrived %+v, want the first three in order", got)
	}
}

func TestReporterCloseGivesUp(t *testing.T) {
	t.Parallel()
	s := newSink(t, true) // never opens its gate: a hung server
	r := s.reporter(0)
	evs := updateRun(time.Now().Add(-time.Minute), "m1")
	for _, ev := range evs {
		r.Report(ev)
	}
	<-s.arrived
	ctx, cancel := context.WithCancel(context.Background())
	flushed := make(chan error, 1)
	go func() { flushed <- r.Flush(ctx) }()
	cancel()
	if err := <-flushed; !errors.Is(err, context.Canceled) {
		t.Errorf("Flush = %v, want context.Canceled", err)
	}
	if err := r.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Close = %v, want context.Canceled", err)
	}
	if n := r.Dropped(); n != len(evs) {
		t.Errorf("%d dropped, want all %d", n, len(evs))
	}
	// A closed reporter drops at once, and Close again is harmless.
	r.Report(evs[0])
	if n := r.Dropped(); n != len(evs)+1 {
		t.Errorf("%d dropped after a Report past Close, want %d", n, len(evs)+1)
	}
	if err := r.Close(context.Background()); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestReporterCountsRefusedEvents(t *testing.T) {
	t.Parallel()
	s := newSink(t, false)
	s.status = http.StatusBadRequest
	r := s.reporter(0)
	r.Report(updateRun(time.Now(), "m1")[0])
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(s.got()) != 1 || r.Dropped() != 1 {
		t.Errorf("%d arrived, %d dropped; want 1 and 1", len(s.got()), r.Dropped())
	}
}

func TestReporterWithNoServer(t *testing.T) {
	t.Parallel()
	s := newSink(t, false)
	url := s.srv.URL
	s.srv.Close() // nothing listens there now
	r := &Reporter{URL: url + "/events", Logger: quiet()}
	r.Report(updateRun(time.Now(), "m1")[0])
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r.Dropped() != 1 {
		t.Errorf("%d dropped, want 1", r.Dropped())
	}
}
