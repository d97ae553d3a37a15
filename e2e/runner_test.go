package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/molt-go/update/agent/deploylog"
	"github.com/molt-go/update/internal/browser"
	"github.com/molt-go/update/internal/gittest"
)

const runnerPkg = "github.com/molt-go/update/cmd/runner"

// runnerWait bounds every wait of these tests for something to happen
// (a build, a switch); it is a deadline against hanging, not a speed test.
const runnerWait = 3 * time.Minute

// appRepo is a git repository of a small Go HTTP server.
type appRepo struct {
	*gittest.Repo
	port int
}

func newAppRepo(t *testing.T, port int) *appRepo {
	r := &appRepo{Repo: gittest.New(t), port: port}
	r.Write("go.mod", "module app\n\ngo 1.26\n")
	return r
}

// commit commits main.go with src and returns the commit hash.
func (r *appRepo) commit(src, msg string) string { return r.Commit("main.go", src, msg) }

// appSource is a server answering version on the repo's port; status is
// its answer's status, and exit, if not "", makes it exit at once.
func (r *appRepo) appSource(version string, status int, exit bool) string {
	exitLine := ""
	if exit {
		exitLine = `fmt.Fprintln(os.Stderr, "giving up at once"); os.Exit(3)`
	}
	return fmt.Sprintf(`package main

import (
	"fmt"
	"net/http"
	"os"
)

const version = %q

func main() {
	%s
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(%d)
		fmt.Fprint(w, version)
	})
	if err := http.ListenAndServe("127.0.0.1:%d", nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
`, version, exitLine, status, r.port)
}

// freePort returns a port on 127.0.0.1 that was free a moment ago, for a
// program that must be told its address before it starts. It is drawn
// below the range the system hands out for outgoing connections
// (32768-60999 on Linux), which a port from Listen(":0") is in: between
// the check and the program's bind, any of the suite's many connections
// could take such a port; none takes one below.
func freePort(t *testing.T) int {
	t.Helper()
	for range 100 {
		port := 20000 + rand.IntN(12000)
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue // taken: draw again
		}
		ln.Close()
		return port
	}
	t.Fatal("no free port on 127.0.0.1 between 20000 and 32000")
	return 0
}

// runnerProc is a running examples/runner.
type runnerProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	base string // http://addr
	log  string // its output file
	done chan struct{}
}

func startRunner(t *testing.T, args ...string) *runnerProc {
	t.Helper()
	exe := program(t, runnerPkg, "dev")
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	p := &runnerProc{t: t, base: "http://" + addr, log: filepath.Join(t.TempDir(), "runner.log"), done: make(chan struct{})}
	logf, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(exe, append([]string{"-addr", addr}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); logf.Close(); close(p.done) }()
	t.Cleanup(func() { p.stop() })
	return p
}

// stop ends the runner with SIGTERM, as a service manager would; it stops
// its program before exiting.
func (p *runnerProc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(runnerWait):
		p.cmd.Process.Kill()
		<-p.done
		p.t.Errorf("runner did not exit on SIGTERM\n%s", p.output())
	}
}

func (p *runnerProc) output() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

func (p *runnerProc) hook() {
	p.t.Helper()
	resp, err := runnerClient.Post(p.base+"/hook", "application/json", strings.NewReader(`{"ref":"refs/heads/main"}`))
	if err != nil {
		p.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		p.t.Fatalf("POST /hook: %s", resp.Status)
	}
}

func (p *runnerProc) deployments() []deploylog.Deployment {
	p.t.Helper()
	var ds []deploylog.Deployment
	if err := getJSON(p.base+"/api/deployments", &ds); err != nil {
		p.t.Fatalf("%v\n%s", err, p.output())
	}
	return ds
}

func getJSON(url string, v any) error {
	resp, err := runnerClient.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// waitDeployment waits until deployment n (1-based) has ended, and
// returns it.
func (p *runnerProc) waitDeployment(n int) deploylog.Deployment {
	p.t.Helper()
	deadline := time.Now().Add(runnerWait)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			p.t.Fatalf("runner exited\n%s", p.output())
		default:
		}
		var ds []deploylog.Deployment
		if getJSON(p.base+"/api/deployments", &ds) == nil && len(ds) >= n {
			d := ds[len(ds)-n]
			if d.Status != deploylog.StatusRunning {
				return d
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.t.Fatalf("deployment %d did not end\n%s", n, p.output())
	return deploylog.Deployment{}
}

// served returns what the app answers on port, or "" if nothing answers.
func served(port int) (string, int) {
	resp, err := runnerClient.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		return "", 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), resp.StatusCode
}

func steps(d deploylog.Deployment) []string {
	var s []string
	for _, st := range d.Steps {
		s = append(s, string(st.Step))
	}
	return s
}

func stepOf(d deploylog.Deployment, name deploylog.Step) *deploylog.StepLog {
	for i := range d.Steps {
		if d.Steps[i].Step == name {
			return &d.Steps[i]
		}
	}
	return nil
}

// runnerClient talks to the runner and the app; its timeout keeps a test
// from hanging on a server that accepts and never answers.
var runnerClient = &http.Client{Timeout: 10 * time.Second}

var pseudoRE = regexp.MustCompile(`^v0\.0\.0-\d{14}-[0-9a-f]{12}$`)

// TestRunnerKeepsAppUpToDate is the runner's story with a real repository,
// real builds and real processes: a first deployment, an update through the
// push hook, a commit that does not compile, commits that build but are
// never healthy (rolled back), a tagged release, the page in a browser, and
// bad configurations that must not lose the log.
func TestRunnerKeepsAppUpToDate(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Fatal("the runner's e2e test needs process groups and a shell: run it on unix")
	}
	appPort := freePort(t)
	repo := newAppRepo(t, appPort)
	first := repo.commit(repo.appSource("one", 200, false), "first")
	work := t.TempDir()
	db := filepath.Join(work, "deployments.db")
	r := startRunner(t,
		"-repo", repo.Dir, "-branch", "main",
		"-build", "go build -o app .", "-run", "./app",
		"-health", fmt.Sprintf("http://127.0.0.1:%d/", appPort),
		"-interval", "1h", // only the hook triggers checks after the first
		"-db", db, "-workdir", filepath.Join(work, "wd"),
		"-health-timeout", "5s", "-stop-timeout", "5s", "-restart-delay", "200ms", "-project", "app")

	d1 := r.waitDeployment(1)
	if d1.Status != deploylog.StatusDone || d1.From != "" || !pseudoRE.MatchString(d1.To) || d1.Commit != first {
		t.Fatalf("first deployment = %+v\n%s", d1, r.output())
	}
	if got, want := strings.Join(steps(d1), ","), "detect,fetch,build,start,health,done"; got != want {
		t.Errorf("first deployment's steps = %s, want %s", got, want)
	}
	if body, code := served(appPort); body != "one" || code != 200 {
		t.Fatalf("serving %q (%d), want one", body, code)
	}

	t.Log("a new commit, announced by the hook, is deployed")
	second := repo.commit(repo.appSource("two", 200, false), "second")
	r.hook()
	d2 := r.waitDeployment(2)
	if d2.Status != deploylog.StatusDone || d2.From != d1.To || d2.Commit != second || d2.Project != "app" {
		t.Fatalf("second deployment = %+v\n%s", d2, r.output())
	}
	if got, want := strings.Join(steps(d2), ","), "detect,fetch,build,stop,start,health,done"; got != want {
		t.Errorf("second deployment's steps = %s, want %s", got, want)
	}
	for _, st := range d2.Steps {
		if st.From != d1.To || st.To != d2.To || st.Machine == "" || st.Project != "app" || st.Start.IsZero() || st.End.Before(st.Start) {
			t.Errorf("step %+v lacks its versions, machine, project or times", st)
		}
	}
	if body, _ := served(appPort); body != "two" {
		t.Fatalf("serving %q after the second deployment, want two", body)
	}

	t.Log("a commit that does not compile fails at build; the old version serves")
	repo.commit("package main\n\nfunc main() { this is not Go }\n", "broken")
	r.hook()
	d3 := r.waitDeployment(3)
	build := stepOf(d3, deploylog.StepBuild)
	if d3.Status != deploylog.StatusFailed || build == nil || build.Error == "" || !strings.Contains(build.Output, "main.go") {
		t.Fatalf("broken deployment = %+v\n%s", d3, r.output())
	}
	if stepOf(d3, deploylog.StepStop) != nil || stepOf(d3, deploylog.StepStart) != nil {
		t.Errorf("a failed build still stopped or started something: %v", steps(d3))
	}
	if body, _ := served(appPort); body != "two" {
		t.Fatalf("serving %q after a failed build, want two", body)
	}

	t.Log("a version that answers 500 is rolled back")
	repo.commit(repo.appSource("sick", 500, false), "sick")
	r.hook()
	d4 := r.waitDeployment(4)
	if d4.Status != deploylog.StatusFailed || stepOf(d4, deploylog.StepRollback) == nil || stepOf(d4, deploylog.StepHealth).Error == "" {
		t.Fatalf("unhealthy deployment = %+v\n%s", d4, r.output())
	}
	if body, code := served(appPort); body != "two" || code != 200 {
		t.Fatalf("serving %q (%d) after a rollback, want two", body, code)
	}

	t.Log("a version that exits at once is rolled back")
	repo.commit(repo.appSource("quitter", 200, true), "quitter")
	r.hook()
	d5 := r.waitDeployment(5)
	if d5.Status != deploylog.StatusFailed || stepOf(d5, deploylog.StepRollback) == nil {
		t.Fatalf("exiting deployment = %+v\n%s", d5, r.output())
	}
	if body, _ := served(appPort); body != "two" {
		t.Fatalf("serving %q after a rollback, want two", body)
	}

	t.Log("a tagged commit is deployed under its tag")
	tagged := repo.commit(repo.appSource("three", 200, false), "three")
	repo.Run("tag", "v1.2.0", tagged)
	r.hook()
	d6 := r.waitDeployment(6)
	if d6.Status != deploylog.StatusDone || d6.To != "v1.2.0" || d6.From != d2.To {
		t.Fatalf("tagged deployment = %+v\n%s", d6, r.output())
	}
	if body, _ := served(appPort); body != "three" {
		t.Fatalf("serving %q, want three", body)
	}
	// Only the running workspace and the previous one are kept.
	ws, err := os.ReadDir(filepath.Join(work, "wd", "workspaces"))
	if err != nil || len(ws) != 2 {
		t.Errorf("workspaces left: %v (%v), want the current and the previous", ws, err)
	}

	t.Log("the app killed with SIGKILL is started again, and the log says so")
	checkCrashRestart(t, r, d6, appPort)

	checkPagesInBrowser(t, r.base, d3.ID)

	r.stop()
	if body, _ := served(appPort); body != "" {
		t.Errorf("the app still serves %q after the runner stopped", body)
	}

	t.Log("bad configurations fail clearly and lose nothing")
	for _, bad := range [][]string{
		{"-repo", filepath.Join(work, "no-such-repo"), "-branch", "main"},
		{"-repo", repo.Dir, "-branch", "no-such-branch"},
	} {
		p := startRunner(t, append(bad, "-run", "./app", "-db", db, "-workdir", filepath.Join(work, "wd2"))...)
		<-p.done
		if p.cmd.ProcessState.ExitCode() == 0 || !strings.Contains(p.output(), "not found") {
			t.Errorf("runner %v: exit %d, output:\n%s", bad, p.cmd.ProcessState.ExitCode(), p.output())
		}
	}
	store, err := deploylog.OpenSQLite(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if all, err := store.List(context.Background(), 0); err != nil || len(all) != 6 {
		t.Errorf("after bad runs the log holds %d deployments (%v), want 6", len(all), err)
	}

	notDB := filepath.Join(work, "notes.txt")
	text := []byte("these are my notes, not a database\n")
	if err := os.WriteFile(notDB, text, 0o644); err != nil {
		t.Fatal(err)
	}
	p := startRunner(t, "-repo", repo.Dir, "-run", "./app", "-db", notDB, "-workdir", filepath.Join(work, "wd3"))
	<-p.done
	if p.cmd.ProcessState.ExitCode() == 0 || !strings.Contains(p.output(), "not a SQLite database") {
		t.Errorf("runner with a text file as -db: exit %d, output:\n%s", p.cmd.ProcessState.ExitCode(), p.output())
	}
	if got, _ := os.ReadFile(notDB); !bytes.Equal(got, text) {
		t.Errorf("the text file given as -db was changed: %q", got)
	}
}

// checkPagesInBrowser loads the deployments page and one failed
// deployment's page in headless Chromium and checks what it rendered.
func checkPagesInBrowser(t *testing.T, base string, failedID int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runnerWait)
	defer cancel()
	exe := browser.Need(t)
	b := browser.Chromium{Path: exe, Profile: t.TempDir()}
	dom, err := b.DumpDOM(ctx, base+"/deployments")
	if err != nil {
		t.Fatal(err)
	}
	rows := regexp.MustCompile(`<tr class="deployment (\w+)" data-id="(\d+)"`).FindAllStringSubmatch(dom, -1)
	var got []string
	for _, m := range rows {
		got = append(got, m[2]+":"+m[1])
	}
	if want := "6:done,5:failed,4:failed,3:failed,2:done,1:done"; strings.Join(got, ",") != want {
		t.Errorf("the page lists %v, want %s (newest first, failed marked)\n%s", got, want, dom)
	}
	for _, want := range []string{`data-step="rollback"`, `data-step="build"`, `data-step="health"`, "✗ failed", "v1.2.0"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	shot := filepath.Join(t.TempDir(), "deployments.png")
	if err := b.Screenshot(ctx, base+"/deployments", shot); err != nil {
		t.Fatal(err)
	}
	one, err := b.DumpDOM(ctx, fmt.Sprintf("%s/deployments/%d", base, failedID))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`<tr class="step failed" data-step="build">`).MatchString(one) || !strings.Contains(one, `class="output"`) || !strings.Contains(one, "main.go") {
		t.Errorf("the failed deployment's page does not show its failed build and the compiler's output:\n%s", one)
	}
}

// checkCrashRestart kills the app that deployment d put in place and
// waits until the runner has started the same version again, recorded as
// crash and restart steps of d, and logged.
func checkCrashRestart(t *testing.T, r *runnerProc, d deploylog.Deployment, appPort int) {
	t.Helper()
	pidRE := regexp.MustCompile(`^pid (\d+) in `)
	pidOf := func(st *deploylog.StepLog) int {
		var pid int
		if st != nil {
			if m := pidRE.FindStringSubmatch(st.Output); m != nil {
				fmt.Sscan(m[1], &pid)
			}
		}
		return pid
	}
	pid := pidOf(stepOf(d, deploylog.StepStart))
	if pid == 0 {
		t.Fatalf("deployment %d's start step does not name the app's pid: %+v", d.ID, stepOf(d, deploylog.StepStart))
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var now deploylog.Deployment
	deadline := time.Now().Add(runnerWait)
	for {
		for _, x := range r.deployments() {
			if x.ID == d.ID {
				now = x
			}
		}
		body, _ := served(appPort)
		if stepOf(now, "restart") != nil && body == "three" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the killed app was not restarted: serving %q, deployment %+v\n%s", body, now, r.output())
		}
		time.Sleep(100 * time.Millisecond)
	}
	crash, restarted := stepOf(now, "crash"), stepOf(now, "restart")
	if crash == nil || crash.Error == "" || pidOf(crash) != pid {
		t.Errorf("crash step = %+v, want a failed step naming pid %d", crash, pid)
	}
	if newPID := pidOf(restarted); restarted.Error != "" || newPID == 0 || newPID == pid || syscall.Kill(newPID, 0) != nil {
		t.Errorf("restart step = %+v, want a new running process", restarted)
	}
	if now.Status != deploylog.StatusDone || len(r.deployments()) != 6 {
		t.Errorf("a crash changed the deployment's status (%s) or made a deployment of its own", now.Status)
	}
	if out := r.output(); !strings.Contains(out, "agent: program exited") || !strings.Contains(out, "agent: restarted") {
		t.Errorf("the runner's log does not tell of the crash and the restart:\n%s", out)
	}
}
