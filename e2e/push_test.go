//go:build unix

package e2e

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/molt-go/update/source/feed"
)

// pushDeadline is what the issue asks of push: a daemon that checks once
// an hour learns of a new release within 2 seconds of its publication.
const pushDeadline = 2 * time.Second

// pushProxy forwards to a pkgserver and notes, for the test, the long-polls
// it holds and when each file was first asked for.
type pushProxy struct {
	*httptest.Server
	mu    sync.Mutex
	held  int
	first map[string]time.Time // first GET by file name
}

func newPushProxy(t *testing.T, base string) *pushProxy {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	p := &pushProxy{first: map[string]time.Time{}}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has(feed.WaitParam) {
			p.mu.Lock()
			p.held++
			p.mu.Unlock()
			defer func() {
				p.mu.Lock()
				p.held--
				p.mu.Unlock()
			}()
		} else {
			name := filepath.Base(r.URL.Path)
			p.mu.Lock()
			if _, ok := p.first[name]; !ok {
				p.first[name] = time.Now()
			}
			p.mu.Unlock()
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *pushProxy) holding() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.held
}

func (p *pushProxy) firstGet(name string) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	at, ok := p.first[name]
	return at, ok
}

var logTime = regexp.MustCompile(`\btime=(\S+)`)

// eventTime is the time in the daemon's log line holding every one of parts.
func (d *daemonProc) eventTime(parts ...string) time.Time {
	d.t.Helper()
	d.waitLog(parts...)
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, line := range d.lines {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if !all {
			continue
		}
		m := logTime.FindStringSubmatch(line)
		if m == nil {
			d.t.Fatalf("no time in %q", line)
		}
		at, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil {
			d.t.Fatalf("the time in %q: %v", line, err)
		}
		return at
	}
	d.t.Fatalf("no line with %q", parts)
	return time.Time{}
}

// TestDaemonLearnsOfReleasesByPush: the daemon checks once an hour, yet
// learns of a release dropped into the folder of a running pkgserver serve
// within 2 seconds (it finds it and starts the download), by the
// long-poll; its next generation does the same for the release after.
func TestDaemonLearnsOfReleasesByPush(t *testing.T) {
	t.Parallel()
	prebuild(t, "1.0.0", "1.1.0", "1.2.0")
	root := t.TempDir()
	ps := startPkgserver(t, root)
	proxy := newPushProxy(t, ps.base)
	w := &daemonWorld{
		t:         t,
		root:      root,
		releases:  ps.releases,
		target:    filepath.Join(root, "bin", "daemon"),
		state:     filepath.Join(root, "state"),
		pidFile:   filepath.Join(root, "daemon.pid"),
		pub:       ps.pub,
		http:      proxy.Server,
		downloads: map[string]int{},
	}
	for _, dir := range []string{filepath.Dir(w.target), filepath.Join(root, "staging")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(t, daemonBin(t, "1.0.0", "", ""), w.target, 0o755)
	w.publish("1.0.0", "", "")

	d := w.start("-interval", "1h", "-probation", "300ms")
	for _, v := range []string{"1.1.0", "1.2.0"} {
		// The serving generation has checked and holds a long-poll.
		waitUntil(t, "one long-poll held", func() bool { return proxy.holding() == 1 })
		published := time.Now()
		w.publish(v, "", "")
		found := d.eventTime("step=find", "to="+v)
		waitUntil(t, "the download of "+v, func() bool { _, ok := proxy.firstGet(assetName(v)); return ok })
		download, _ := proxy.firstGet(assetName(v))
		t.Logf("%s: found %v and downloading %v after it was published", v, found.Sub(published), download.Sub(published))
		if took := found.Sub(published); took > pushDeadline {
			t.Errorf("%s was found %v after it was published, want within %v", v, took, pushDeadline)
		}
		if took := download.Sub(published); took > pushDeadline {
			t.Errorf("%s was asked for %v after it was published, want within %v", v, took, pushDeadline)
		}
		// Installed, handed over to, and confirmed: the new generation
		// serves and watches in turn.
		waitUntil(t, "daemon "+v+" serving", func() bool { return d.get() == "daemon "+v+"\n" })
		d.waitLog("version="+v, "version confirmed")
	}
	w.installedIs("1.2.0")
}
