package server

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/molt-go/update/source/feed"
)

// poll is the answer to one long-poll.
type poll struct {
	status  int
	etag    string
	push    string
	body    []byte
	elapsed time.Duration
	err     error
}

// longPoll sends GET /<app>/feed.json?wait=secs with If-None-Match etag
// and returns a channel for its answer.
func (f *fixture) longPoll(ctx context.Context, app, etag, secs string) <-chan poll {
	out := make(chan poll, 1)
	go func() {
		start := time.Now()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.http.URL+"/"+app+"/feed.json?"+feed.WaitParam+"="+secs, nil)
		if err != nil {
			out <- poll{err: err}
			return
		}
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := f.http.Client().Do(req)
		if err != nil {
			out <- poll{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		out <- poll{status: resp.StatusCode, etag: resp.Header.Get("ETag"), push: resp.Header.Get(feed.PushHeader),
			body: body, elapsed: time.Since(start), err: err}
	}()
	return out
}

func answer(t *testing.T, c <-chan poll) poll {
	t.Helper()
	select {
	case p := <-c:
		if p.err != nil {
			t.Fatal(p.err)
		}
		return p
	case <-time.After(30 * time.Second):
		t.Fatal("no answer to the long-poll within 30 s")
		return poll{}
	}
}

// held is how many long-polls the server holds, and whether its folder
// scan runs.
func (f *fixture) held() (n int, scanning bool) {
	f.srv.mu.Lock()
	defer f.srv.mu.Unlock()
	for _, c := range f.srv.push.waiters {
		n += c
	}
	return n, f.srv.push.scanning
}

func (f *fixture) waitHeld(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if got, _ := f.held(); got == n {
			return
		}
		if time.Now().After(deadline) {
			got, _ := f.held()
			t.Fatalf("%d long-polls held after 30 s, want %d", got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// currentETag is the ETag of the app's feed by a plain GET.
func (f *fixture) currentETag(t *testing.T, app string) string {
	t.Helper()
	resp, _ := f.do(t, http.MethodGet, "/"+app+"/feed.json", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("feed: %s", resp.Status)
	}
	return resp.Header.Get("ETag")
}

// wantFeed checks that p is a push answer carrying a new feed, verified,
// that lists version.
func (f *fixture) wantFeed(t *testing.T, p poll, old, version string) {
	t.Helper()
	if p.status != http.StatusOK || p.push != "1" || p.etag == "" || p.etag == old {
		t.Fatalf("answer %d, %s=%q, ETag %s (was %s); want 200 with a new feed", p.status, feed.PushHeader, p.push, p.etag, old)
	}
	pl, err := feed.Parse(p.body, f.keys)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range pl.Releases {
		if r.Version == version {
			return
		}
	}
	t.Fatalf("the pushed feed does not list %s: %+v", version, pl.Releases)
}

// TestWaitWakesOnPublish: held long-polls are answered with the new feed
// when a file is dropped into the folder, all of them by one signing, and
// the folder scan stops once none is held.
func TestWaitWakesOnPublish(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"hello-1.0.0-linux-amd64": "one"})
	old := f.currentETag(t, "hello")
	const n = 20
	var polls []<-chan poll
	for range n {
		polls = append(polls, f.longPoll(t.Context(), "hello", old, "30"))
	}
	f.waitHeld(t, n)
	time.Sleep(3 * DefaultPushScan) // scans that find nothing answer nothing
	for _, c := range polls {
		select {
		case p := <-c:
			t.Fatalf("a long-poll was answered %d before anything changed", p.status)
		default:
		}
	}
	writeFile(t, f.dir, "hello-1.1.0-linux-amd64", "two", epoch)
	etags := map[string]bool{}
	for _, c := range polls {
		p := answer(t, c)
		f.wantFeed(t, p, old, "1.1.0")
		etags[p.etag] = true
	}
	if len(etags) != 1 {
		t.Errorf("the waiters got %d different feeds, want the one signed", len(etags))
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, scanning := f.held()
		if n == 0 && !scanning {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the answers: %d held, scanning %v", n, scanning)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWaitBehindAnswersAtOnce: a client whose ETag is not the current feed
// (or that has none) gets the feed at once, with the push header.
func TestWaitBehindAnswersAtOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"hello-1.0.0-linux-amd64": "one"})
	for _, etag := range []string{"", `"stale"`} {
		p := answer(t, f.longPoll(t.Context(), "hello", etag, "30"))
		f.wantFeed(t, p, etag, "1.0.0")
	}
	if n, _ := f.held(); n != 0 {
		t.Fatalf("%d held", n)
	}
}

// TestWaitHoldEnds: with nothing new, the hold ends with 304 after about
// the time asked for, less at most a tenth.
func TestWaitHoldEnds(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"hello-1.0.0-linux-amd64": "one"})
	etag := f.currentETag(t, "hello")
	p := answer(t, f.longPoll(t.Context(), "hello", etag, "1"))
	if p.status != http.StatusNotModified || p.push != "1" {
		t.Fatalf("answer %d, %s=%q; want 304 with the push header", p.status, feed.PushHeader, p.push)
	}
	if p.elapsed < 850*time.Millisecond {
		t.Fatalf("held %v, asked for 1 s", p.elapsed)
	}
	// A weak form of the ETag (a compressing proxy) holds too.
	p = answer(t, f.longPoll(t.Context(), "hello", "W/"+etag, "1"))
	if p.status != http.StatusNotModified {
		t.Fatalf("weak ETag: answer %d, want 304", p.status)
	}
}

// TestWaitWakesOnRolloutChanges: a rollout set, paused, a pin and a halt
// each sign a new feed, and each wakes the held long-polls.
func TestWaitWakesOnRolloutChanges(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"hello-1.0.0-linux-amd64": "one", "hello-1.1.0-linux-amd64": "two"})
	edit := func(e func(ro *Rollouts) error) func() {
		return func() {
			// The file's modification time must differ from the last one
			// the server saw, on a clock of any resolution.
			time.Sleep(20 * time.Millisecond)
			if _, err := EditRollouts(f.dir, e); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, step := range []struct {
		name   string
		change func()
	}{
		{"rollout set", edit(func(ro *Rollouts) error { return ro.Set("hello", "1.1.0", 10, nil, epoch) })},
		{"rollout pause", edit(func(ro *Rollouts) error { return ro.Pause("hello", "1.1.0", epoch) })},
		{"rollout resume", edit(func(ro *Rollouts) error { return ro.Resume("hello", "1.1.0", epoch) })},
		{"pin", edit(func(ro *Rollouts) error { return ro.Pin("hello", "1.0.0", []string{"machine-1"}, nil) })},
		{"halt", func() {
			if ok, err := f.srv.Halt("hello", "1.1.0", func(time.Time) (bool, string) { return true, "3 of 3 failed" }); !ok || err != nil {
				t.Fatalf("Halt: %v, %v", ok, err)
			}
		}},
		{"rollout abort", edit(func(ro *Rollouts) error { return ro.Abort("hello", "1.1.0", epoch) })},
	} {
		old := f.currentETag(t, "hello")
		c := f.longPoll(t.Context(), "hello", old, "30")
		f.waitHeld(t, 1)
		step.change()
		p := answer(t, c)
		if p.status != http.StatusOK || p.etag == old {
			t.Fatalf("%s: answer %d, ETag %s (was %s); want a new feed", step.name, p.status, p.etag, old)
		}
		if _, err := feed.Parse(p.body, f.keys); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		f.waitHeld(t, 0)
	}
}

// TestWaitForAnAppToCome: a long-poll on an app with no files yet waits
// for its first release.
func TestWaitForAnAppToCome(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"hello-1.0.0-linux-amd64": "one"})
	c := f.longPoll(t.Context(), "later", "", "30")
	f.waitHeld(t, 1)
	writeFile(t, f.dir, "later-0.1.0-linux-amd64", "first", epoch)
	f.wantFeed(t, answer(t, c), "", "0.1.0")
	// With nothing coming, the hold ends with 304, not 404.
	if p := answer(t, f.longPoll(t.Context(), "never", "", "1")); p.status != http.StatusNotModified || p.push != "1" {
		t.Fatalf("an app that never comes: %d, %s=%q", p.status, feed.PushHeader, p.push)
	}
}

// TestWaitClientGone: a client that hangs up is no longer held.
func TestWaitClientGone(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"hello-1.0.0-linux-amd64": "one"})
	ctx, cancel := context.WithCancel(t.Context())
	c := f.longPoll(ctx, "hello", f.currentETag(t, "hello"), "30")
	f.waitHeld(t, 1)
	cancel()
	<-c
	f.waitHeld(t, 0)
}

// TestEndWaits: EndWaits answers the held long-polls with 503 at once, and
// later ones without a hold, so a server's shutdown is not held up.
func TestEndWaits(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"hello-1.0.0-linux-amd64": "one"})
	etag := f.currentETag(t, "hello")
	var polls []<-chan poll
	for range 3 {
		polls = append(polls, f.longPoll(t.Context(), "hello", etag, "60"))
	}
	f.waitHeld(t, 3)
	f.srv.EndWaits()
	f.srv.EndWaits() // twice is harmless
	for _, c := range polls {
		if p := answer(t, c); p.status != http.StatusServiceUnavailable || p.push != "1" {
			t.Fatalf("a held long-poll after EndWaits: %d", p.status)
		}
	}
	if p := answer(t, f.longPoll(t.Context(), "hello", etag, "60")); p.status != http.StatusServiceUnavailable || p.elapsed > 10*time.Second {
		t.Fatalf("a long-poll after EndWaits: %d after %v", p.status, p.elapsed)
	}
	// Plain GETs are served as before.
	if f.currentETag(t, "hello") != etag {
		t.Fatal("the feed changed")
	}
}

// TestWaitFeedClient: the feed Client's Wait against this server.
func TestWaitFeedClient(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"hello-1.0.0-linux-amd64": "one"})
	c := f.client("hello")
	ctx := t.Context()
	if _, err := c.Releases(ctx, f.keys); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait(ctx) }()
	f.waitHeld(t, 1)
	writeFile(t, f.dir, "hello-1.1.0-linux-amd64", "two", epoch)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Wait did not return")
	}
	l, err := c.Releases(ctx, f.keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Releases) != 2 {
		t.Fatalf("%d releases after the push, want 2", len(l.Releases))
	}
}
