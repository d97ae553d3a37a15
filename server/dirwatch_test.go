package server

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// listings is how many full listings of the folder the server has made.
func (f *fixture) listings() int {
	f.srv.mu.Lock()
	defer f.srv.mu.Unlock()
	return f.srv.listings
}

// settle sets the folder's modification time an hour back, so that the
// next listing is one its stat vouches for (racyWindow) and only a change
// of the folder, or Relist, makes another.
func (f *fixture) settle(t *testing.T) {
	t.Helper()
	past := time.Now().Add(-time.Hour)
	if err := os.Chtimes(f.dir, past, past); err != nil {
		t.Fatal(err)
	}
}

// TestNoListingWhileNothingChanges: a polling fleet's 304s, and the
// long-polls' folder scan, list the folder not once while nothing in it
// changes; the first request after a change lists it.
func TestNoListingWhileNothingChanges(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, map[string]string{"hello-1.0.0-linux-amd64": "one"}, func(o *Options) {
		o.Relist = time.Hour
		o.PushScan = 5 * time.Millisecond
	})
	f.settle(t)
	etag := f.currentETag(t, "hello") // lists: the folder's time changed
	before := f.listings()
	for i := range 200 {
		resp, _ := f.do(t, http.MethodGet, "/hello/feed.json", map[string]string{"If-None-Match": etag})
		if resp.StatusCode != http.StatusNotModified {
			t.Fatalf("request %d: %s, want 304", i, resp.Status)
		}
	}
	// A held long-poll: its scan runs every 5 ms, and stats only.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	held := f.longPoll(ctx, "hello", etag, "30")
	f.waitHeld(t, 1)
	for range 20 {
		time.Sleep(5 * time.Millisecond)
		if _, scanning := f.held(); !scanning {
			t.Fatal("no scan runs while a long-poll is held")
		}
	}
	if got := f.listings(); got != before {
		t.Errorf("%d listings of the folder while nothing changed, want 0", got-before)
	}

	// A file renamed in: the held request and the next GET both see it.
	writeFile(t, f.dir, ".hello-1.1.0-linux-amd64", "two", epoch)
	if err := os.Rename(filepath.Join(f.dir, ".hello-1.1.0-linux-amd64"), filepath.Join(f.dir, "hello-1.1.0-linux-amd64")); err != nil {
		t.Fatal(err)
	}
	resp, _ := f.do(t, http.MethodGet, "/hello/feed.json", map[string]string{"If-None-Match": etag})
	if resp.StatusCode != http.StatusOK {
		t.Errorf("after a new file: %s, want 200", resp.Status)
	}
	f.wantFeed(t, answer(t, held), etag, "1.1.0")
	if f.listings() == before {
		t.Error("a new file was seen without a listing")
	}
}

// TestFileAddedSeenAtOnce: a file created in the folder (a new name, so
// a new modification time of the folder) is in the feed of the very next
// request, however recently the folder was listed.
func TestFileAddedSeenAtOnce(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, map[string]string{"hello-1.0.0-linux-amd64": "one"}, func(o *Options) { o.Relist = time.Hour })
	f.settle(t)
	for i, v := range []string{"1.1.0", "1.2.0", "1.3.0"} {
		f.payload(t, "hello") // the folder as it is, listed
		writeFile(t, f.dir, "hello-"+v+"-linux-amd64", v, epoch)
		p := f.payload(t, "hello")
		if len(p.Releases) != i+2 || p.Releases[0].Version != v {
			t.Fatalf("after adding %s: %+v", v, p.Releases)
		}
	}
	// Removed: gone at once too.
	if err := os.Remove(filepath.Join(f.dir, "hello-1.3.0-linux-amd64")); err != nil {
		t.Fatal(err)
	}
	if p := f.payload(t, "hello"); p.Releases[0].Version != "1.2.0" {
		t.Errorf("after removing 1.3.0: %+v", p.Releases)
	}
}

// TestFileRewrittenInPlaceSeenWithinRelist: a file rewritten under its
// name changes nothing the folder's stat shows; the listing made once
// Relist has passed sees it.
func TestFileRewrittenInPlaceSeenWithinRelist(t *testing.T) {
	t.Parallel()
	const relist = 50 * time.Millisecond
	f := newFixtureWith(t, map[string]string{"hello-1.0.0-linux-amd64": "one"}, func(o *Options) { o.Relist = relist })
	f.settle(t)
	p1 := f.payload(t, "hello")
	dirBefore, err := os.Stat(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, f.dir, "hello-1.0.0-linux-amd64", "uno", epoch) // same size, new bytes
	if dirAfter, _ := os.Stat(f.dir); !dirAfter.ModTime().Equal(dirBefore.ModTime()) {
		t.Fatal("rewriting a file in place changed the folder's time: this test tests nothing here")
	}
	time.Sleep(relist)
	p2 := f.payload(t, "hello")
	if got := p2.Releases[0].Assets[0].SHA256; got != sha256hex("uno") || p2.Serial <= p1.Serial {
		t.Errorf("after Relist: serial %d (was %d), sha256 %s, want the rewritten file's", p2.Serial, p1.Serial, got)
	}
}

// TestDirSeenHolds: the rule a request applies to the folder's stat.
func TestDirSeenHolds(t *testing.T) {
	t.Parallel()
	const relist = time.Minute
	dir, other := t.TempDir(), t.TempDir()
	mod := time.Now().Add(-time.Hour).Truncate(time.Second)
	for _, d := range []string{dir, other} {
		if err := os.Chtimes(d, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	fi, _ := os.Stat(dir)
	otherFi, _ := os.Stat(other)
	began := mod.Add(time.Minute)
	seen := newDirSeen(fi, began, nil)
	for _, c := range []struct {
		name string
		seen dirSeen
		fi   os.FileInfo
		now  time.Time
		want bool
	}{
		{"unchanged", seen, fi, began.Add(time.Millisecond), true},
		{"never listed", dirSeen{}, fi, began, false},
		{"another folder, same time", seen, otherFi, began, false},
		{"relist due", seen, fi, began.Add(relist), false},
		{"listed just after a change", newDirSeen(fi, mod.Add(racyWindow/2), nil), fi, mod.Add(racyWindow), false},
		{"folder time in the future", newDirSeen(fi, mod.Add(-time.Minute), nil), fi, mod, false},
		{"a file written just before", newDirSeen(fi, began, []fileStat{{name: "a", mod: began.Add(-racyWindow / 2).UnixNano()}}), fi, began, false},
		{"files written long before", newDirSeen(fi, began, []fileStat{{name: "a", mod: mod.UnixNano()}}), fi, began, true},
	} {
		if got := c.seen.holds(c.fi, c.now, relist); got != c.want {
			t.Errorf("%s: holds = %v, want %v", c.name, got, c.want)
		}
	}
	later := mod.Add(time.Second)
	if err := os.Chtimes(dir, later, later); err != nil {
		t.Fatal(err)
	}
	changed, _ := os.Stat(dir)
	if seen.holds(changed, began, relist) {
		t.Error("holds after the folder's time changed")
	}
}
