package supervise

import (
	"fmt"
	"time"
)

// Defaults of Supervisor's crash restarts.
const (
	DefaultRestartDelay      = time.Second
	DefaultMaxRestartDelay   = 30 * time.Second
	DefaultRestartResetAfter = 10 * time.Second
)

// watcher restarts one running child when it exits on its own. It belongs
// to the child that is s.cur: whoever replaces or stops that child cancels
// it first, under s.mu, so a restart never races a Switch or a Stop.
type watcher struct {
	cancel chan struct{} // closed, under s.mu, when the child is no longer the watcher's
	done   chan struct{} // closed when the watcher's goroutine has returned
}

// setCur makes c the current child and hands it to a watcher of its own,
// cancelling the previous child's. It returns the previous watcher's done
// channel (nil if there was none), for a caller that must wait until no
// restart can happen any more. s.mu must be held.
func (s *Supervisor) setCur(c *child) <-chan struct{} {
	var prev <-chan struct{}
	if s.watch != nil {
		close(s.watch.cancel)
		prev = s.watch.done
		s.watch = nil
	}
	s.cur = c
	if c != nil && !s.NoRestart {
		w := &watcher{cancel: make(chan struct{}), done: make(chan struct{})}
		s.watch = w
		go s.watchChild(c, w)
	}
	return prev
}

// watchChild waits until c exits; unless its watcher was cancelled
// meanwhile (a Switch or a Stop took the child), it reports the crash,
// waits the backoff and starts the same program in the same workspace
// again, then watches the new child the same way.
func (s *Supervisor) watchChild(c *child, w *watcher) {
	defer close(w.done)
	var delay time.Duration
	for {
		select {
		case <-c.done:
		case <-w.cancel:
			return
		}
		s.mu.Lock()
		if w.cancelled() {
			s.mu.Unlock()
			return
		}
		s.reportStep(SwitchStep{Name: StepCrash, Start: c.started, End: c.ended, Err: fmt.Errorf("%w: %w", ErrExited, exitStatus(c))}, c)
		s.mu.Unlock()
		// Helpers the child started may outlive it, holding its port or
		// files: its group goes with it, as on a stop.
		s.stop(c)
		delay = s.nextDelay(delay, c.ended.Sub(c.started))
		for {
			if !w.sleep(delay) {
				return
			}
			s.mu.Lock()
			if w.cancelled() {
				s.mu.Unlock()
				return
			}
			start := time.Now()
			next, err := s.start(c.dir, c.args)
			st := SwitchStep{Name: StepRestart, Start: start, Delay: delay, Err: err}
			if err == nil {
				s.cur, c = next, next
				s.reportStep(st, next)
			} else {
				st.Workspace = c.dir
				s.reportStep(st, nil)
			}
			s.mu.Unlock()
			if err == nil {
				break
			}
			// The program cannot even start (its workspace is gone?):
			// keep trying, ever more slowly, until a Switch or a Stop.
			delay = s.nextDelay(delay, 0)
		}
	}
}

// nextDelay is the backoff after a crash: RestartDelay after the first
// one, or after a child that ran for RestartResetAfter; otherwise double
// the previous delay, up to MaxRestartDelay.
func (s *Supervisor) nextDelay(prev, ran time.Duration) time.Duration {
	base := s.RestartDelay
	if base <= 0 {
		base = DefaultRestartDelay
	}
	most := s.MaxRestartDelay
	if most <= 0 {
		most = DefaultMaxRestartDelay
	}
	most = max(most, base)
	reset := s.RestartResetAfter
	if reset <= 0 {
		reset = DefaultRestartResetAfter
	}
	if prev <= 0 || ran >= reset {
		return base
	}
	return min(2*prev, most)
}

func (w *watcher) cancelled() bool {
	select {
	case <-w.cancel:
		return true
	default:
		return false
	}
}

// sleep waits for d and reports whether the watcher is still wanted.
func (w *watcher) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-w.cancel:
		return false
	}
}
