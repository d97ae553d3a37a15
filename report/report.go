// Package report sends the steps of a program's updates to its package
// server, which shows them as a history of deployments (server/collect
// takes them there, and cmd/pkgserver mounts it at /events).
//
// It is a package of its own, on the standard library alone, because it
// lives inside every program that reports: the deployment log it feeds
// needs SQLite, and a program should not carry that to send a few JSON
// objects.
package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/molt-go/update/step"
)

// Event is one step of one update as a program reports it to a Collector:
// the wire form of update.Event, sent as a JSON object, one per POST. This
// package does not import the updater (nothing does but programs), so a
// program converts its update.Event field by field, with Err as its
// message.
type Event struct {
	App     string    `json:"app"`
	Machine string    `json:"machine"`
	Step    step.Name `json:"step"` // a step of an update (package step)
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	From    string    `json:"from"`            // the running version
	To      string    `json:"to,omitempty"`    // the version chosen; empty until one is
	Bytes   int64     `json:"bytes,omitempty"` // bytes the step moved
	Error   string    `json:"error,omitempty"` // why the step failed; empty if it succeeded
	// Labels and InstallID say which pins name the machine (see
	// update.Event); the collector keeps a few short labels.
	Labels    []string `json:"labels,omitempty"`
	InstallID string   `json:"install_id,omitempty"`
}

// Reporter limits. A reporter lives inside the program being updated, so
// it must cost that program almost nothing whatever the server does.
const (
	// defaultQueue holds a few whole updates (each is under ten events)
	// while the server is slow; more than that and the server is down, and
	// queueing more would only hold memory.
	defaultQueue = 64
	// sendTimeout bounds one POST even when the caller's client has no
	// timeout: a hung server must not hold the queue forever.
	sendTimeout = 10 * time.Second
)

// Reporter sends events to a Collector in the background, so that
// reporting never blocks or fails an update: Report only queues, a full
// queue drops the event with a log line, and a failed POST is logged and
// not retried. Call Close before the program exits, and Flush before it
// re-executes itself, or the last events are lost. The zero value with URL
// set is ready; a Reporter must not be copied after first use.
type Reporter struct {
	// URL is the collector's endpoint, such as
	// https://updates.example.com/events.
	URL string
	// HTTPClient sends the events. If nil, a client with a 10 second
	// timeout; each POST is bounded by 10 seconds in any case.
	HTTPClient *http.Client
	// Logger receives a line per event dropped or not accepted. If nil,
	// slog.Default().
	Logger *slog.Logger
	// QueueSize is how many events may wait to be sent. If zero, 64.
	QueueSize int

	once    sync.Once
	client  *http.Client
	queue   chan Event
	ctx     context.Context // cancelled when Close gives up, to stop a POST in flight
	cancel  context.CancelFunc
	done    chan struct{} // closed when the sender has stopped
	mu      sync.Mutex
	closed  bool
	pending int           // events queued or being sent
	idle    chan struct{} // closed while pending is 0
	dropped int
}

func (r *Reporter) init() {
	r.once.Do(func() {
		n := r.QueueSize
		if n <= 0 {
			n = defaultQueue
		}
		r.client = r.HTTPClient
		if r.client == nil {
			r.client = &http.Client{Timeout: sendTimeout}
		}
		r.queue = make(chan Event, n)
		r.ctx, r.cancel = context.WithCancel(context.Background())
		r.done = make(chan struct{})
		r.idle = make(chan struct{})
		close(r.idle)
		go r.send()
	})
}

func (r *Reporter) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

// Report queues ev to be sent and returns at once. When the queue is full
// or the Reporter is closed, ev is dropped and a line logged.
func (r *Reporter) Report(ev Event) {
	r.init()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		r.dropLocked(ev, "the reporter is closed")
		return
	}
	select {
	case r.queue <- ev:
		if r.pending == 0 {
			r.idle = make(chan struct{})
		}
		r.pending++
	default:
		r.dropLocked(ev, "the queue is full")
	}
}

func (r *Reporter) dropLocked(ev Event, why string) {
	r.dropped++
	r.logger().Warn("report: event not reported", "step", ev.Step, "why", why, "dropped", r.dropped)
}

// Dropped is how many events were dropped so far, queued or not.
func (r *Reporter) Dropped() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dropped
}

// Flush waits until every queued event has been sent (or has failed), or
// until ctx is done. The Reporter stays open: an updater flushes before it
// re-executes, and reports a rollback if the restart fails.
func (r *Reporter) Flush(ctx context.Context) error {
	r.init()
	r.mu.Lock()
	idle := r.idle
	r.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("report: flush: %w", ctx.Err())
	}
}

// Close stops taking events and waits until the queued ones are sent or ctx
// is done; then it abandons the rest, counting them as dropped. It is safe
// to call more than once.
func (r *Reporter) Close(ctx context.Context) error {
	r.init()
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		close(r.queue)
	}
	r.mu.Unlock()
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		r.cancel()
		<-r.done // quick now: every POST fails at once
		return fmt.Errorf("report: close: %w", ctx.Err())
	}
}

// send posts the queued events one at a time, in order.
func (r *Reporter) send() {
	defer close(r.done)
	defer r.cancel()
	for ev := range r.queue {
		err := r.post(ev)
		r.mu.Lock()
		if err != nil {
			if r.ctx.Err() != nil {
				r.dropped++ // Close gave up on it; it already says so
			} else {
				r.dropLocked(ev, err.Error())
			}
		}
		r.pending--
		if r.pending == 0 {
			close(r.idle)
		}
		r.mu.Unlock()
	}
}

func (r *Reporter) post(ev Event) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.ctx, sendTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the collector answered %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}
