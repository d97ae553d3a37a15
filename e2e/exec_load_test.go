//go:build unix

package e2e

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/molt-go/update/server"
)

// examplesDaemonPkg is the daemon a user would copy, as it is: its
// -restart exec mode execs in place and keeps the listening socket open.
const examplesDaemonPkg = "github.com/molt-go/update/examples/daemon"

// newExecDaemonWorld is a daemonWorld (daemon_harness_test.go) whose
// installed program is examples/daemon at first, serving its releases
// from a counting server in this process.
func newExecDaemonWorld(t *testing.T, first string) *daemonWorld {
	t.Helper()
	root := t.TempDir()
	w := &daemonWorld{
		t:         t,
		root:      root,
		releases:  filepath.Join(root, "releases"),
		target:    filepath.Join(root, "bin", "daemon"),
		state:     filepath.Join(root, "state"),
		downloads: map[string]int{},
	}
	for _, d := range []string{w.releases, filepath.Dir(w.target), filepath.Join(root, "staging"), filepath.Join(root, "tmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	signer, pub := keys(t, root)
	w.pub = pub
	srv, err := server.New(server.Options{Dir: w.releases, Signer: signer, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	w.http = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/feed.json") {
			w.feedHits.Add(1)
		} else {
			w.mu.Lock()
			w.downloads[filepath.Base(r.URL.Path)]++
			w.mu.Unlock()
		}
		srv.ServeHTTP(rw, r)
	}))
	t.Cleanup(w.http.Close)
	copyFile(t, program(t, examplesDaemonPkg, first), w.target, 0o755)
	return w
}

// publishExample puts examples/daemon at version into the releases folder
// in one rename, and returns the build's path.
func publishExample(w *daemonWorld, version string) string {
	w.t.Helper()
	built := program(w.t, examplesDaemonPkg, version)
	tmp := filepath.Join(w.root, "staging", assetName(version))
	copyFile(w.t, built, tmp, 0o755)
	if err := os.Rename(tmp, filepath.Join(w.releases, assetName(version))); err != nil {
		w.t.Fatal(err)
	}
	return built
}

// startExec runs the installed daemon with -restart exec on addr and waits
// until it serves. Every generation is the same process (the exec keeps
// the PID), writing to the one pipe the test reads.
func startExec(w *daemonWorld, addr string, args ...string) *daemonProc {
	w.t.Helper()
	d := &daemonProc{t: w.t, w: w, exited: make(chan error, 1), eof: make(chan struct{}), pids: map[int]bool{}}
	r, pw, err := os.Pipe()
	if err != nil {
		w.t.Fatal(err)
	}
	cmd := exec.Command(w.target, append([]string{
		"-restart", "exec", "-addr", addr, "-feed", w.http.URL + "/daemon/", "-key", w.pub, "-state", w.state,
	}, args...)...)
	cmd.Env = append(os.Environ(), "TMPDIR="+filepath.Join(w.root, "tmp"))
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	pw.Close()
	d.pids[cmd.Process.Pid] = true
	go func() { d.exited <- cmd.Wait() }()
	serving := make(chan string, 1)
	go func() {
		defer close(d.eof)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			line := sc.Text()
			if _, a, ok := strings.Cut(line, " serving on http://"); ok {
				select {
				case serving <- a:
				default:
				}
			}
			d.mu.Lock()
			d.lines = append(d.lines, line)
			d.mu.Unlock()
		}
		r.Close()
	}()
	w.t.Cleanup(d.stop)
	select {
	case a := <-serving:
		d.base = "http://" + a
	case err := <-d.exited:
		w.t.Fatalf("daemon exited before serving: %v\n%s", err, d.log())
	case <-time.After(daemonWait):
		w.t.Fatalf("daemon did not start\n%s", d.log())
	}
	return d
}

// TestDaemonExecUnderLoad: examples/daemon with -restart exec and Watch
// every 500ms updates from 1.0.0 to 1.1.0 while workers send requests
// (half over kept-alive connections, half over new ones): not one request
// fails, the process stays the same, and afterwards it answers
// "daemon 1.1.0" and has confirmed that version. A client that connected
// before the restart and sends its request while the old version shuts
// down is answered too: it is what makes a dropped request show at every
// run rather than at some.
func TestDaemonExecUnderLoad(t *testing.T) {
	t.Parallel()
	w := newExecDaemonWorld(t, "1.0.0")
	publishExample(w, "1.0.0")
	program(t, examplesDaemonPkg, "1.1.0") // built before the clock starts
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	d := startExec(w, addr, "-interval", "500ms", "-confirm-timeout", "30s")
	if d.base != "http://"+addr {
		t.Fatalf("the daemon serves on %s, want %s", d.base, addr)
	}
	var pid int
	for p := range d.pids {
		pid = p // the only one
	}
	w.waitChecks(2) // Watch is running, and 1.0.0 is the newest
	d.waitLog("version=1.0.0", "version confirmed")

	load := startDaemonLoad(t, d.base, 8)
	load.waitFor(t, "1.0.0", 100)
	published := publishExample(w, "1.1.0")
	start := time.Now()
	// A client that connects while 1.0.0 downloads the update and sends
	// its request only once the restart has begun: the old process
	// accepted its connection, so it must answer it before it execs.
	d.waitLog("version=1.0.0", "step=download", "to=1.1.0")
	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	d.waitLog("version=1.0.0", "step=restart", "to=1.1.0")
	time.Sleep(50 * time.Millisecond) // the shutdown before the exec is under way
	slowBody, slowErr := getOn(slow, addr)
	load.waitFor(t, "1.1.0", 1)
	took := time.Since(start)
	d.waitLog("version=1.1.0", "version confirmed")
	load.waitFor(t, "1.1.0", 100)
	load.check(t, "1.0.0", "1.1.0")
	t.Logf("1.1.0 answered %v after it was published", took.Round(time.Millisecond))

	if slowErr != nil || (slowBody != "daemon 1.0.0\n" && slowBody != "daemon 1.1.0\n") {
		t.Errorf("a request sent during the restart on a connection made before it got %q, %v; want an answer. "+
			"examples/daemon/exec.go gives restart.Exec srv.Shutdown, which closes a connection accepted before it "+
			"whose request comes after it began without answering (see restart.HTTPDrainer); a drainer "+
			"(drainer.Serve(ln), Shutdown: drainer.Drain) answers it", slowBody, slowErr)
	}
	if got := d.get(); got != "daemon 1.1.0\n" {
		t.Errorf("GET / answers %q after the update, want daemon 1.1.0", got)
	}
	sameBytes(t, w.target, published)
	if n := w.downloaded("1.1.0"); n != 1 {
		t.Errorf("1.1.0 was downloaded %d times, want once", n)
	}
	if !d.logged("pid="+strconv.Itoa(pid), "version=1.1.0") {
		t.Errorf("1.1.0 does not run as process %d: an exec keeps the PID", pid)
	}
	select {
	case err := <-d.exited:
		t.Errorf("the daemon process exited: %v", err)
	default:
	}
	// Watch goes on, and 1.1.0 stays: no loop of re-installs.
	w.waitChecks(3)
	if n := w.downloaded("1.1.0"); n != 1 {
		t.Errorf("1.1.0 was downloaded %d times after more checks, want once", n)
	}
	if s := readState(t, w.state); s.Pending != nil || len(s.Bad) != 0 {
		t.Errorf("after the update the state holds pending %+v, bad %+v", s.Pending, s.Bad)
	}
	binHolds(t, filepath.Dir(w.target), "daemon", ".daemon.old")
}

// getOn sends GET / on conn, an open connection to addr, and returns the
// body of the answer.
func getOn(conn net.Conn, addr string) (string, error) {
	conn.SetDeadline(time.Now().Add(daemonWait))
	if _, err := fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", addr); err != nil {
		return "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s", resp.Status)
	}
	return string(b), err
}
