package server

import (
	"fmt"
	"os"
	"time"
)

// Looking at the folder cheaply. Listing it (ReadDir and a stat per file)
// on every request was most of the cost of a 304 to a polling fleet. But
// a folder's modification time changes whenever a name in it is created,
// removed or renamed, which is how files arrive: a publisher (pkgserver,
// Publish, the rollout commands, EditRollouts) writes a temporary name and
// renames it into place. So a request stats the folder, one syscall, and
// the folder is listed again only when that stat differs from the one
// taken before the last listing, when the stat cannot vouch for it (see
// racyWindow), or when Options.Relist has passed since it, which catches a
// file rewritten in place under its name, a change the folder's time does
// not show. The folder is the only one a listing reads: files are
// release assets or RolloutsFile, subfolders are skipped, and the patch
// cache is read when the payloads are rebuilt (patches.go), which its
// worker asks for (takeStale).

// DefaultRelist is how often the folder is listed in full while its
// modification time says nothing changed: a file rewritten in place is in
// the feeds within about that.
const DefaultRelist = time.Second

// racyWindow is how long after a change in the folder a listing cannot
// vouch for what follows it, so requests list again until one began at
// least this long after the newest modification time of the folder and its
// files. The kernel stamps the folder with a clock that may lag the real
// one by a tick, so a file created just after a listing may leave the
// folder's time as the listing saw it; some file systems keep whole
// seconds (ext3, HFS+); and a publisher that writes a release file in
// place, not under a temporary name, changes its size with no change of
// the folder's time while it writes. A second covers these; FAT's 2 s
// timestamps and writers that pause longer are caught by Relist.
const racyWindow = time.Second

// dirSeen is the folder as stat'ed just before its last full listing.
type dirSeen struct {
	fi     os.FileInfo // nil until the folder has been listed
	began  time.Time   // when that listing began, before the stat
	newest time.Time   // the newest modification time of the folder and the files listed
}

// newDirSeen is the dirSeen of a listing that began at began, when the
// folder's stat was fi, and found stats.
func newDirSeen(fi os.FileInfo, began time.Time, stats []fileStat) dirSeen {
	d := dirSeen{fi: fi, began: began, newest: fi.ModTime()}
	for _, st := range stats {
		if mod := time.Unix(0, st.mod); mod.After(d.newest) {
			d.newest = mod
		}
	}
	return d
}

// statDir is the one syscall of a request: the folder's own stat.
func statDir(dir string) (os.FileInfo, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("feed: %w", err)
	}
	return fi, nil
}

// holds reports whether the listing seen describes the folder that fi
// describes at now: the same folder (not another one moved or linked in its
// place), with the same modification time, trusted (racyWindow), and
// younger than relist.
func (d dirSeen) holds(fi os.FileInfo, now time.Time, relist time.Duration) bool {
	if d.fi == nil || fi == nil {
		return false
	}
	return os.SameFile(d.fi, fi) && fi.ModTime().Equal(d.fi.ModTime()) &&
		d.began.Sub(d.newest) >= racyWindow && now.Sub(d.began) < relist
}

// view is what a feed request answers from without taking Server.mu: the
// feeds found current since the folder was last listed. A view is never
// changed once published (Server.view); the Server publishes a new one
// when it lists the folder or signs a feed.
type view struct {
	gen   uint64             // Server.gen the feeds are current for
	seen  dirSeen            // the listing they were found current after
	feeds map[string]*signed // by app
}

// dirStat is a stat of the folder a request made, for the requests that
// arrived before it began (Server.lastStat).
type dirStat struct {
	fi    os.FileInfo
	began time.Time
}

// currentFeed is the hot path of a polling fleet: app's feed from the
// view, if the folder's stat says the view still holds, the feed is not
// due to be signed again and no patches wait to be listed; else nil, and
// the caller takes the lock. A request shares the stat of another that
// began after it arrived, which saw the folder as it was then or later.
func (s *Server) currentFeed(app string, arrived time.Time) *signed {
	v := s.view.Load()
	if v == nil {
		return nil
	}
	f := v.feeds[app]
	if f == nil || s.patcher.stale.Load() || s.now().Sub(f.issued) >= s.lifetime/2 {
		return nil
	}
	st := s.lastStat.Load()
	if st == nil || !st.began.After(arrived) {
		began := time.Now()
		fi, err := statDir(s.dir)
		if err != nil {
			return nil
		}
		st = &dirStat{fi: fi, began: began}
		s.lastStat.Store(st)
	}
	if !v.seen.holds(st.fi, st.began, s.relist) {
		return nil
	}
	return f
}

// listedLocked publishes a view for a listing of the folder just made:
// the feeds found current stay in it if the payloads did not change.
func (s *Server) listedLocked() {
	next := &view{gen: s.gen, seen: s.seen, feeds: map[string]*signed{}}
	if v := s.view.Load(); v != nil && v.gen == s.gen {
		next.feeds = v.feeds
	}
	s.view.Store(next)
}

// currentLocked publishes f as app's current feed in the view, once
// feedLocked has found or signed it for the payloads of s.gen.
func (s *Server) currentLocked(app string, f *signed) {
	v := s.view.Load()
	if v != nil && v.gen == s.gen && v.seen == s.seen && v.feeds[app] == f {
		return
	}
	next := &view{gen: s.gen, seen: s.seen, feeds: map[string]*signed{app: f}}
	if v != nil && v.gen == s.gen && v.seen == s.seen {
		for a, g := range v.feeds {
			if a != app {
				next.feeds[a] = g
			}
		}
	}
	s.view.Store(next)
}
