package update

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/molt-go/update/source"
)

// stalled is a source whose Releases hangs until its ctx ends, as a server
// that accepted the connection and never answers. It records each call's
// deadline.
type stalled struct {
	mu        sync.Mutex
	calls     []time.Time
	deadlines []time.Time
}

func (s *stalled) source() *sourceFunc {
	return &sourceFunc{
		releases: func(ctx context.Context) (*source.Listing, error) {
			dl, ok := ctx.Deadline()
			s.mu.Lock()
			s.calls = append(s.calls, time.Now())
			if ok {
				s.deadlines = append(s.deadlines, dl)
			}
			s.mu.Unlock()
			<-ctx.Done()
			return nil, ctx.Err()
		},
		open: func(context.Context, source.Asset, int64) (io.ReadCloser, error) {
			return nil, errors.New("never asked")
		},
	}
}

func (s *stalled) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

// TestWatchRoundsAreBounded: a round whose source stalls ends at
// RoundTimeout, and Watch goes on with the next round.
func TestWatchRoundsAreBounded(t *testing.T) {
	t.Parallel()
	st := &stalled{}
	o := opts(t, st.source())
	o.RoundTimeout = 50 * time.Millisecond
	logs := capture(&o)
	u, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- u.Watch(ctx, 10*time.Millisecond) }()
	waitFor(t, 10*time.Second, "three rounds past a stalled source", func() bool { return st.count() >= 3 })
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Watch: %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not return after its ctx ended")
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.deadlines) != len(st.calls) {
		t.Fatalf("%d of %d rounds had no deadline", len(st.calls)-len(st.deadlines), len(st.calls))
	}
	for i, dl := range st.deadlines {
		if d := dl.Sub(st.calls[i]); d > o.RoundTimeout {
			t.Errorf("round %d had %v, more than RoundTimeout %v", i, d, o.RoundTimeout)
		}
	}
	if !strings.Contains(logs.String(), "check failed; trying again next round") {
		t.Errorf("a failed round is not logged:\n%s", logs)
	}
}

// TestWatchChecksAtOnce: the first round does not wait for the interval.
func TestWatchChecksAtOnce(t *testing.T) {
	t.Parallel()
	src := newMem("1.1.0", []byte("new"))
	var finds atomic.Int32
	o := opts(t, src)
	o.OnEvent = func(e Event) {
		if e.Step == StepFind {
			finds.Add(1)
		}
	}
	u, _ := New(o)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- u.Watch(ctx, time.Hour) }()
	waitFor(t, 10*time.Second, "the first round", func() bool { return content(t, o.Target) == "new" })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Watch: %v", err)
	}
	if n := finds.Load(); n != 1 {
		t.Fatalf("%d rounds within the first hour, want 1", n)
	}
}

func TestWatchRefusesABadInterval(t *testing.T) {
	t.Parallel()
	src := newMem("1.1.0", []byte("new"))
	o := opts(t, src)
	u, _ := New(o)
	for _, d := range []time.Duration{0, -time.Second} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := u.Watch(ctx, d)
		cancel()
		if err == nil || errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "must be positive") {
			t.Fatalf("Watch(%v): %v, want an immediate error", d, err)
		}
	}
	if content(t, o.Target) != "old" {
		t.Fatal("a refused Watch installed")
	}
}

// TestWatchOffWaits: an updater that is off waits for ctx without a look.
func TestWatchOffWaits(t *testing.T) {
	t.Parallel()
	st := &stalled{}
	o := opts(t, st.source())
	o.Version = "dev"
	u, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := u.Watch(ctx, time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Watch: %v, want the ctx's error", err)
	}
	if d := time.Since(start); d < 90*time.Millisecond {
		t.Fatalf("Watch returned after %v, before its ctx ended", d)
	}
	if n := st.count(); n != 0 {
		t.Fatalf("a dev build looked %d times", n)
	}
}
