package server

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/molt-go/update/source/feed"
)

// Push: a GET of /<app>/feed.json with the query parameter feed.WaitParam
// is a long-poll. If the feed is not the one the request's If-None-Match
// names, the answer is the feed, at once; otherwise the request is held
// until the feed is signed anew (a file published, a rollout set, paused,
// resumed or aborted, a pin, a halt, a renewal at half the lifetime) and
// then answered with the new feed, or with 304 when the hold ends first.
// Every such answer carries feed.PushHeader, so a client can tell this
// server from a static host, which answers the plain GET.
//
// A held request costs its connection and a parked goroutine, nothing
// else: each app has a channel that is closed, once for all of its
// waiters, when its feed is signed anew. The folder, which changes behind
// the server's back, is looked at by one goroutine every PushScan while
// any request is held, and by none otherwise; a look is one stat of the
// folder while nothing changed in it (dirwatch.go).

// DefaultPushScan is how often the folder is looked at while long-polls
// are held: a publish reaches the waiting clients within about that, at
// the cost of ten stats of the folder a second (and a listing per
// Options.Relist, which catches a file rewritten in place).
const DefaultPushScan = 100 * time.Millisecond

// maxHold caps the hold a long-poll may ask for, so that a held request
// always ends; a request asks for feed.DefaultWaitHold by default.
const maxHold = 5 * time.Minute

// pushHub is the Server's part for long-polls. Its fields are guarded by
// Server.mu, the lock under which feeds are signed, so that a request
// that reads the current feed and then waits cannot miss a change signed
// in between.
type pushHub struct {
	scan     time.Duration
	changed  map[string]*wake // by app, for apps with waiters
	waiters  map[string]int   // held requests by app
	scanning bool             // the folder's scan goroutine runs
	ended    bool             // EndWaits was called
	end      chan struct{}    // closed by EndWaits
}

func newPushHub(scan time.Duration) pushHub {
	if scan <= 0 {
		scan = DefaultPushScan
	}
	return pushHub{scan: scan, changed: map[string]*wake{}, waiters: map[string]int{}, end: make(chan struct{})}
}

// wake is one signing of an app's feed that its waiters wait for: done is
// closed when it comes, and f is then the new feed, which the woken
// requests answer with without taking the Server's lock (ten thousand of
// them at once would queue on it).
type wake struct {
	done chan struct{}
	f    *signed // set before done is closed
}

// signedLocked wakes the requests waiting on app's feed with f, just
// signed anew.
func (h *pushHub) signedLocked(app string, f *signed) {
	if w, ok := h.changed[app]; ok {
		w.f = f
		close(w.done)
		h.changed[app] = &wake{done: make(chan struct{})}
	}
}

// EndWaits answers every held long-poll at once with 503, and every later
// one too, without a hold: call it when the HTTP server shuts down
// (http.Server.RegisterOnShutdown), which otherwise waits for them.
// Clients come back after a pause, to the next server.
func (s *Server) EndWaits() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.push.ended {
		s.push.ended = true
		close(s.push.end)
	}
}

// holdOf is how long to hold a request that asks for wait seconds: as
// asked, at most maxHold, less up to a tenth at random so that a fleet
// that connected at once does not come back at once.
func holdOf(wait string) time.Duration {
	secs, err := strconv.Atoi(wait)
	d := time.Duration(secs) * time.Second
	if err != nil || d <= 0 {
		d = feed.DefaultWaitHold
	}
	d = min(d, maxHold)
	return d - time.Duration(rand.Float64()*0.1*float64(d))
}

// serveWait answers a long-poll on app's feed.
func (s *Server) serveWait(w http.ResponseWriter, r *http.Request, app string) {
	h := w.Header()
	h.Set(feed.PushHeader, "1")
	// A held answer is for this client at this moment only.
	h.Set("Cache-Control", "no-store")
	inm := r.Header.Get("If-None-Match")

	arrived := time.Now()
	s.mu.Lock()
	if s.push.ended {
		s.mu.Unlock()
		s.serveEnded(w)
		return
	}
	f, err := s.waitableLocked(app, arrived)
	if err != nil {
		s.mu.Unlock()
		s.log.Error("feed: cannot make the feed", "app", app, "err", err)
		http.Error(w, "cannot make the feed", http.StatusInternalServerError)
		return
	}
	if f != nil && !etagMatch(inm, f.etag) {
		s.mu.Unlock()
		writeFeed(w, f)
		return
	}
	wk := s.push.changed[app]
	if wk == nil {
		wk = &wake{done: make(chan struct{})}
		s.push.changed[app] = wk
	}
	s.push.waiters[app]++
	if !s.push.scanning {
		s.push.scanning = true
		go s.scanForWaiters()
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if s.push.waiters[app]--; s.push.waiters[app] <= 0 {
			delete(s.push.waiters, app)
			delete(s.push.changed, app)
		}
		s.mu.Unlock()
	}()

	t := time.NewTimer(holdOf(r.URL.Query().Get(feed.WaitParam)))
	defer t.Stop()
	select {
	case <-wk.done:
	case <-t.C:
		w.WriteHeader(http.StatusNotModified)
		return
	case <-s.push.end:
		s.serveEnded(w)
		return
	case <-r.Context().Done():
		return
	}
	if f = wk.f; etagMatch(inm, f.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	writeFeed(w, f)
}

// waitableLocked is app's current feed, signed anew if it must be, or nil
// if the app has no files (yet): a long-poll on it waits for its first.
// Long-polls that arrived together, as a woken fleet's next ones do,
// share a listing of the folder (refreshAfterLocked).
func (s *Server) waitableLocked(app string, arrived time.Time) (*signed, error) {
	if err := s.refreshAfterLocked(arrived); err != nil {
		return nil, err
	}
	if s.apps[app] == nil {
		return nil, nil
	}
	return s.feedLocked(app)
}

func (s *Server) serveEnded(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "5")
	http.Error(w, "the server is shutting down", http.StatusServiceUnavailable)
}

// scanForWaiters looks at the folder every scan while requests are held,
// signing the feeds they wait on anew when their releases changed (which
// wakes them), and returns once none is held.
func (s *Server) scanForWaiters() {
	t := time.NewTicker(s.push.scan)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-s.push.end:
		}
		s.mu.Lock()
		if len(s.push.waiters) == 0 || s.push.ended {
			s.push.scanning = false
			s.mu.Unlock()
			return
		}
		// Errors are the requests' to report: each held one is answered
		// in time, and every plain GET says what is wrong.
		if err := s.refreshLocked(); err == nil {
			for app := range s.push.waiters {
				if s.apps[app] != nil {
					s.feedLocked(app)
				}
			}
		}
		s.mu.Unlock()
	}
}

// writeFeed answers 200 with the signed feed f.
func writeFeed(w http.ResponseWriter, f *signed) {
	h := w.Header()
	h["Content-Type"] = jsonType
	h["Etag"] = f.etagHeader
	h.Set("Content-Length", strconv.Itoa(len(f.body)))
	w.WriteHeader(http.StatusOK)
	w.Write(f.body)
}

// etagMatch reports whether an If-None-Match header names etag; a weak
// form counts, since a proxy that compresses may weaken it.
func etagMatch(header, etag string) bool {
	for header != "" {
		var t string
		t, header, _ = strings.Cut(header, ",")
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}
