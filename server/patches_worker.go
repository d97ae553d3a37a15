package server

import (
	"context"
	"os"
	"path/filepath"
	"time"
)

// The Server makes patches in the background, so that no request waits for
// them: a refresh signs the feed at once with the patches already cached,
// and hands the missing ones to one worker goroutine, which makes them one
// at a time and then marks the payloads stale. The next request rebuilds
// them, and the feed, now listing the new patches, is signed again. A
// client that checks in between takes the full download.
//
// One worker bounds the cost (a patch of two large binaries takes seconds
// of CPU and hundreds of MB); it starts with the first job, so a Server
// with patches off, or with every patch cached, runs no goroutine.
// Server.Close stops it.

// worker is the patcher's background goroutine; its fields are under
// patcher.mu.
type worker struct {
	cancel  context.CancelFunc // nil until it starts
	kick    chan struct{}      // one pending wake-up at most
	done    chan struct{}      // closed when it has stopped
	running bool               // a round of jobs is being made
	stopped bool               // Close was called: start no more
}

// staleMaking is how old a half-made patch file (makingPrefix) must be for
// a starting worker to remove it: one left by a server that was killed. A
// younger one may belong to another process sharing the cache; a patch
// file being made is written to within minutes.
const staleMaking = time.Hour

// queue makes jobs the worker's next round, replacing any round not yet
// begun (they come from the newest look at the folder), and wakes it.
func (pt *patcher) queue(jobs []patchJob) {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	pt.pending = jobs
	w := &pt.work
	if len(jobs) == 0 || w.stopped {
		return
	}
	if w.cancel == nil {
		var ctx context.Context
		ctx, w.cancel = context.WithCancel(context.Background())
		w.kick, w.done = make(chan struct{}, 1), make(chan struct{})
		go pt.run(ctx, w.kick, w.done)
	}
	select {
	case w.kick <- struct{}{}:
	default: // a wake-up is pending already; it will take these jobs
	}
}

// run is the worker: a round of jobs per wake-up, until ctx is done.
func (pt *patcher) run(ctx context.Context, kick <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	pt.removeStaleMaking()
	for {
		select {
		case <-ctx.Done():
			return
		case <-kick:
		}
		pt.mu.Lock()
		jobs := pt.pending
		pt.pending = nil
		pt.work.running = true
		pt.mu.Unlock()

		if changed := pt.makeAll(ctx, jobs); changed > 0 {
			pt.stale.Store(true)
			pt.log.Info("feed: patches ready", "jobs", len(jobs), "done", changed)
		}
		pt.mu.Lock()
		pt.work.running = false
		pt.mu.Unlock()
	}
}

// takeStale reports whether patches were made since the last call: the
// payloads must be rebuilt to list them.
func (pt *patcher) takeStale() bool {
	return pt != nil && pt.stale.Swap(false)
}

// stop stops the worker and waits until it has: a patch being made is
// abandoned and its file removed. No worker starts after it.
func (pt *patcher) stop() {
	if pt == nil {
		return
	}
	pt.mu.Lock()
	pt.work.stopped = true
	cancel, done := pt.work.cancel, pt.work.done
	pt.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// removeStaleMaking removes the half-made patch files a killed server left
// in the cache.
func (pt *patcher) removeStaleMaking() {
	paths, _ := filepath.Glob(filepath.Join(pt.cache, "*", makingPrefix+"*"))
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && time.Since(fi.ModTime()) > staleMaking {
			os.Remove(p)
		}
	}
}

// Close stops the making of patches in the background and waits until it
// has stopped: a patch half made is thrown away, and its file removed. The
// Server goes on serving, with the patches cached so far. Close may be
// called more than once; it returns nil.
func (s *Server) Close() error {
	s.patcher.stop()
	return nil
}
