package update

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/molt-go/update/source"
	"github.com/molt-go/update/verify"
)

// pushSource is a memSource that pushes: Wait blocks until wake is called,
// or returns err at once when it is set.
type pushSource struct {
	*memSource
	lists atomic.Int32
	waits atomic.Int32

	mu      sync.Mutex
	err     error
	changed chan struct{}
	held    int
}

var _ source.Notifier = (*pushSource)(nil)

func newPush(version string) *pushSource {
	return &pushSource{memSource: newMem(version, []byte("new")), changed: make(chan struct{})}
}

func (p *pushSource) Releases(ctx context.Context, v verify.Verifier) (*source.Listing, error) {
	p.lists.Add(1)
	return p.memSource.Releases(ctx, v)
}

func (p *pushSource) Wait(ctx context.Context) error {
	p.waits.Add(1)
	p.mu.Lock()
	err, ch := p.err, p.changed
	if err == nil {
		p.held++
	}
	p.mu.Unlock()
	if err != nil {
		return err
	}
	defer func() {
		p.mu.Lock()
		p.held--
		p.mu.Unlock()
	}()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *pushSource) wake() {
	p.mu.Lock()
	defer p.mu.Unlock()
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *pushSource) holding() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.held
}

// watch runs u.Watch(ctx, interval) until the test ends, and fails the
// test if it does not then return the ctx's error.
func watch(t *testing.T, u *Updater, interval time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Watch(ctx, interval) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Watch: %v, want context.Canceled", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Watch did not return after its ctx ended")
		}
	})
}

// TestWatchWakesOnPush: with an interval of an hour, a push makes Watch
// check at once, and a new release is installed.
func TestWatchWakesOnPush(t *testing.T) {
	t.Parallel()
	src := newPush("1.0.0") // the running version: nothing to do
	o := opts(t, src)
	u, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	watch(t, u, time.Hour)
	waitFor(t, 10*time.Second, "the first round and a held Wait", func() bool { return src.lists.Load() == 1 && src.holding() == 1 })
	src.wake()
	waitFor(t, 10*time.Second, "a round woken by push", func() bool { return src.lists.Load() == 2 })
	src.memSource.mu.Lock()
	src.memSource.listing = newMem("1.1.0", []byte("new")).listing
	src.memSource.files = newMem("1.1.0", []byte("new")).files
	src.memSource.mu.Unlock()
	waitFor(t, 10*time.Second, "Wait held again", func() bool { return src.holding() == 1 })
	src.wake()
	waitFor(t, 10*time.Second, "the release found by push installed", func() bool { return content(t, o.Target) == "new" })
}

// TestWatchPollsWithoutPush: a source that says it cannot push is polled
// every interval, and asked for push far less often than it is polled.
func TestWatchPollsWithoutPush(t *testing.T) {
	t.Parallel()
	src := newPush("1.0.0")
	src.err = source.ErrNoPush
	o := opts(t, src)
	logs := capture(&o)
	u, _ := New(o)
	watch(t, u, 20*time.Millisecond)
	waitFor(t, 20*time.Second, "30 rounds by polling", func() bool { return src.lists.Load() >= 30 })
	// The pauses grow to 16 intervals; rounds slowed by a busy machine
	// bring the two counts closer, never level.
	if w, rounds := src.waits.Load(), src.lists.Load(); w > rounds/2 {
		t.Errorf("%d rounds, and push was asked %d times", rounds, w)
	}
	if n := strings.Count(logs.String(), "does not push"); n != 1 {
		t.Errorf("the lack of push is logged %d times, want once:\n%s", n, logs)
	}
}

// TestWatchBacksOffAFailingPush: a push that fails at once is asked again
// after growing pauses, not in a loop, and wakes no round.
func TestWatchBacksOffAFailingPush(t *testing.T) {
	t.Parallel()
	src := newPush("1.0.0")
	src.err = source.ErrUnavailable
	o := opts(t, src)
	u, _ := New(o)
	watch(t, u, time.Hour)
	waitFor(t, 20*time.Second, "a second try of push", func() bool { return src.waits.Load() >= 2 })
	time.Sleep(2 * time.Second)
	// Pauses of 0.5-1 s, 1-2 s, 2-4 s...: four tries at most in 2-3 s.
	if w := src.waits.Load(); w > 5 {
		t.Errorf("push asked %d times within seconds", w)
	}
	if n := src.lists.Load(); n != 1 {
		t.Errorf("%d rounds, want the first only", n)
	}
	// It works again: a push wakes a round.
	src.mu.Lock()
	src.err = nil
	src.mu.Unlock()
	waitFor(t, 30*time.Second, "push held again", func() bool { return src.holding() == 1 })
	src.wake()
	waitFor(t, 10*time.Second, "a round woken by push", func() bool { return src.lists.Load() == 2 })
}

// TestWatchPushCannotSpin: a source whose Wait returns at once every time
// makes a round a second at most.
func TestWatchPushCannotSpin(t *testing.T) {
	t.Parallel()
	src := newPush("1.0.0")
	close(src.changed) // every Wait returns at once
	o := opts(t, src)
	u, _ := New(o)
	watch(t, u, time.Hour)
	waitFor(t, 20*time.Second, "a second round", func() bool { return src.lists.Load() >= 2 })
	start, n0 := time.Now(), src.lists.Load()
	time.Sleep(2500 * time.Millisecond)
	rounds := src.lists.Load() - n0
	if limit := int32(time.Since(start)/pushFloor) + 1; rounds > limit {
		t.Errorf("%d rounds in %v, want at most %d", rounds, time.Since(start), limit)
	}
}
