//go:build unix

package restart

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// These tests run handoffServerMain as a real server, hit it with
// concurrent requests, and upgrade it underneath them.

// handoffWait bounds every wait of these tests, so that a broken handoff
// fails instead of hanging; it is never what a test measures.
const handoffWait = 60 * time.Second

// handoffServer is the first generation of a server, started by the test.
type handoffServer struct {
	t      *testing.T
	dir    string
	base   string // http://addr
	client *http.Client
	cmd    *exec.Cmd
	exited chan error // the first generation's exit
	output chan struct{}
	logMu  sync.Mutex
	log    strings.Builder
	pids   []int // every generation seen through /info, to stop them
}

func startHandoffServer(t *testing.T, readyTimeout string) *handoffServer {
	t.Helper()
	return startHandoffServerOnProbation(t, readyTimeout, "")
}

// startHandoffServerOnProbation starts a server whose handoffs hold the new
// process on probation for the given duration.
func startHandoffServerOnProbation(t *testing.T, readyTimeout, probation string) *handoffServer {
	t.Helper()
	s := &handoffServer{
		t:      t,
		dir:    t.TempDir(),
		exited: make(chan error, 1),
		output: make(chan struct{}),
		// A new connection per request, so every request goes through
		// the listening socket that is handed over.
		client: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: handoffWait},
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command(os.Args[0], "-test.run=^$")
	s.cmd.Env = append(os.Environ(),
		handoffRoleEnv+"=server",
		handoffDirEnv+"="+s.dir,
		handoffVersionEnv+"=1",
		handoffTimeoutEnv+"="+readyTimeout,
		handoffProbEnv+"="+probation,
	)
	// Every generation writes to this one pipe; it reaches EOF when the
	// last of them has exited.
	s.cmd.Stdout, s.cmd.Stderr = w, w
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	go func() { s.exited <- s.cmd.Wait() }()

	addr := make(chan string, 1)
	go func() {
		defer close(s.output)
		defer r.Close()
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			line := sc.Text()
			if a, ok := strings.CutPrefix(line, "addr "); ok {
				addr <- a
			}
			s.logMu.Lock()
			s.log.WriteString(line + "\n")
			s.logMu.Unlock()
		}
	}()
	t.Cleanup(s.stop)
	select {
	case a := <-addr:
		s.base = "http://" + a
	case err := <-s.exited:
		t.Fatalf("server exited before serving: %v", err)
	case <-time.After(handoffWait):
		t.Fatal("server did not start")
	}
	s.info() // remembers the first pid
	return s
}

// stop terminates every generation and waits until all have exited.
func (s *handoffServer) stop() {
	for _, pid := range s.pids {
		syscall.Kill(pid, syscall.SIGTERM)
	}
	select {
	case <-s.output:
	case <-time.After(handoffWait):
		s.t.Error("a server generation is still running")
		for _, pid := range s.pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if s.t.Failed() {
		s.logMu.Lock()
		s.t.Logf("server output:\n%s", s.log.String())
		s.logMu.Unlock()
	}
}

func (s *handoffServer) info() handoffServerInfo {
	s.t.Helper()
	resp, err := s.client.Get(s.base + "/info")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var info handoffServerInfo
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		s.t.Fatal(err)
	}
	s.pids = append(s.pids, info.PID)
	return info
}

func (s *handoffServer) upgrade(role, version string) handoffUpgradeResult {
	s.t.Helper()
	resp, err := s.client.Post(s.base+"/upgrade?role="+role+"&version="+version, "", nil)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var res handoffUpgradeResult
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		s.t.Fatal(err)
	}
	return res
}

// waitExit waits for the first generation to exit and returns its status.
func (s *handoffServer) waitExit() error {
	s.t.Helper()
	select {
	case err := <-s.exited:
		return err
	case <-time.After(handoffWait):
		s.t.Fatal("the old server did not exit")
		return nil
	}
}

func (s *handoffServer) pidFile() int {
	s.t.Helper()
	b, err := os.ReadFile(filepath.Join(s.dir, "server.pid"))
	if err != nil {
		s.t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		s.t.Fatal(err)
	}
	return pid
}

// handoffAnswer is one request's outcome, with the test phase it started in.
type handoffAnswer struct {
	phase   int32
	version string
	err     error
}

// handoffLoad sends GET / from several workers until stopped, or until a bounded
// number of requests has been sent.
type handoffLoad struct {
	phase   atomic.Int32
	stopped chan struct{}
	done    sync.WaitGroup
	mu      sync.Mutex
	answers []handoffAnswer
}

const (
	handoffLoadWorkers = 6
	handoffLoadMax     = 30000
)

func startHandoffLoad(t *testing.T, s *handoffServer) *handoffLoad {
	l := &handoffLoad{stopped: make(chan struct{})}
	var sent atomic.Int64
	for range handoffLoadWorkers {
		l.done.Go(func() {
			for {
				select {
				case <-l.stopped:
					return
				default:
				}
				if sent.Add(1) > handoffLoadMax {
					return
				}
				phase := l.phase.Load()
				a := handoffAnswer{phase: phase}
				resp, err := s.client.Get(s.base + "/")
				if err == nil {
					var b []byte
					b, err = io.ReadAll(resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != http.StatusOK {
						err = errors.New(resp.Status)
					}
					a.version = string(b)
				}
				a.err = err
				l.mu.Lock()
				l.answers = append(l.answers, a)
				l.mu.Unlock()
			}
		})
	}
	t.Cleanup(l.stop)
	return l
}

func (l *handoffLoad) stop() {
	select {
	case <-l.stopped:
	default:
		close(l.stopped)
	}
	l.done.Wait()
}

// count returns how many answers of phase gave version.
func (l *handoffLoad) count(phase int32, version string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, a := range l.answers {
		if a.phase == phase && a.version == version && a.err == nil {
			n++
		}
	}
	return n
}

// waitFor waits until n answers of phase gave version.
func (l *handoffLoad) waitFor(t *testing.T, phase int32, version string, n int) {
	t.Helper()
	deadline := time.Now().Add(handoffWait)
	for l.count(phase, version) < n {
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d answers %q in phase %d", n, version, phase)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// check stops the handoffLoad and asserts that no request failed and that every
// handoffAnswer of each phase came from the versions allowed in it.
func (l *handoffLoad) check(t *testing.T, allowed map[int32][]string) {
	t.Helper()
	l.stop()
	l.mu.Lock()
	defer l.mu.Unlock()
	failed := 0
	for _, a := range l.answers {
		if a.err != nil {
			if failed < 5 {
				t.Errorf("request in phase %d failed: %v", a.phase, a.err)
			}
			failed++
			continue
		}
		ok := false
		for _, v := range allowed[a.phase] {
			ok = ok || a.version == v
		}
		if !ok {
			t.Errorf("phase %d: handoffAnswer %q, want one of %q", a.phase, a.version, allowed[a.phase])
		}
	}
	if failed > 0 {
		t.Errorf("%d of %d requests failed", failed, len(l.answers))
	}
	t.Logf("%d requests", len(l.answers))
}

func TestHandoffUpgradesWithoutFailedRequests(t *testing.T) {
	t.Parallel()
	s := startHandoffServer(t, "")
	old := s.info()
	if old.Version != "1" {
		t.Fatalf("first version %q, want 1", old.Version)
	}
	l := startHandoffLoad(t, s)
	l.waitFor(t, 0, "1", 50)

	l.phase.Store(1) // from here on the new process may handoffAnswer
	if res := s.upgrade("server", "2"); !res.OK {
		t.Fatalf("upgrade failed: %+v", res)
	}
	if err := s.waitExit(); err != nil {
		t.Fatalf("old server did not drain cleanly: %v", err)
	}
	l.phase.Store(2) // only the new process remains
	l.waitFor(t, 2, "2", 50)

	l.check(t, map[int32][]string{0: {"1"}, 1: {"1", "2"}, 2: {"2"}})
	if l.count(0, "1") == 0 || l.count(2, "2") == 0 {
		t.Error("answers did not switch from version 1 to version 2")
	}
	cur := s.info()
	if cur.Version != "2" || cur.PID == old.PID {
		t.Errorf("after upgrade: %+v, old %+v", cur, old)
	}
	if got := s.pidFile(); got != cur.PID {
		t.Errorf("PID file names %d, want the new server %d", got, cur.PID)
	}
}

func TestHandoffChildExitsOldKeepsServing(t *testing.T) {
	t.Parallel()
	s := startHandoffServer(t, "")
	failThenRecover(t, s, "exit1", 1)
	s.info()
}

// failThenRecover runs the story of a bad release under load: the upgrade
// to a child in mode must fail with the child exiting with status code,
// the old server goes on serving with its pid in the PID file, and the
// listeners are left intact, so a good version still takes over.
func failThenRecover(t *testing.T, s *handoffServer, mode string, code int) *handoffLoad {
	t.Helper()
	old := s.info()
	l := startHandoffLoad(t, s)
	l.waitFor(t, 0, "1", 50)

	l.phase.Store(1)
	res := s.upgrade(mode, "2")
	if res.OK || !res.ChildExited || res.NotReady || res.ExitCode != code {
		t.Fatalf("upgrade to %s: %+v, want child exited with status %d", mode, res, code)
	}
	l.waitFor(t, 1, "1", 50)
	if cur := s.info(); cur.PID != old.PID {
		t.Fatalf("after a failed upgrade pid %d serves, want the old %d", cur.PID, old.PID)
	}
	if got := s.pidFile(); got != old.PID {
		t.Errorf("PID file names %d, want the old server %d", got, old.PID)
	}

	l.phase.Store(2)
	if res := s.upgrade("server", "2"); !res.OK {
		t.Fatalf("upgrade after a failed one: %+v", res)
	}
	if err := s.waitExit(); err != nil {
		t.Fatalf("old server did not drain cleanly: %v", err)
	}
	l.phase.Store(3)
	l.waitFor(t, 3, "2", 50)
	l.check(t, map[int32][]string{0: {"1"}, 1: {"1"}, 2: {"1", "2"}, 3: {"2"}})
	return l
}

func TestHandoffChildNeverReadyIsKilled(t *testing.T) {
	t.Parallel()
	s := startHandoffServer(t, "300ms")
	old := s.info()
	l := startHandoffLoad(t, s)
	l.waitFor(t, 0, "1", 50)

	l.phase.Store(1)
	res := s.upgrade("hang", "2")
	if res.OK || !res.NotReady || res.ChildExited {
		t.Fatalf("upgrade to a version that never gets ready: %+v, want not ready", res)
	}
	b, err := os.ReadFile(filepath.Join(s.dir, "hang.pid"))
	if err != nil {
		t.Fatalf("the new version never ran: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("new process %d still exists after the failed upgrade (kill: %v)", pid, err)
	}

	l.waitFor(t, 1, "1", 50)
	l.check(t, map[int32][]string{0: {"1"}, 1: {"1"}})
	if cur := s.info(); cur.PID != old.PID || cur.Version != "1" {
		t.Errorf("after a failed upgrade %+v serves, want %+v", cur, old)
	}
	select {
	case err := <-s.exited:
		t.Errorf("old server exited: %v", err)
	default:
	}
}
