package update

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/molt-go/update/apply"
	"github.com/molt-go/update/internal/testbin"
	"github.com/molt-go/update/source"
)

// probeProgram answers the probe as update.New does, by hand: it writes a
// version into the file named by MOLT_PROBE. What it does is read from the
// file probe-mode beside its executable ("<mode> <version>"), so one build
// serves every case:
//
//	answer V   writes V
//	banner V   prints to stdout and stderr first, then writes V
//	silent     exits 0 without answering
//	fail       exits 3 without answering
//	remove     removes the answer file and exits 0
//	hang       starts a grandchild that holds stdout, writes its pid to
//	           grandchild.pid, and sleeps forever without answering
const probeProgram = `package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "grandchild" {
		time.Sleep(time.Hour)
		return
	}
	exe, err := os.Executable()
	if err != nil {
		os.Exit(2)
	}
	dir := filepath.Dir(exe)
	cfg, err := os.ReadFile(filepath.Join(dir, "probe-mode"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	mode, version, _ := strings.Cut(strings.TrimSpace(string(cfg)), " ")
	switch mode {
	case "banner":
		fmt.Println("hello 1.1.0, starting up")
		fmt.Fprintln(os.Stderr, "time=now level=INFO msg=starting")
	case "silent":
		return
	case "fail":
		os.Exit(3)
	case "remove":
		os.Remove(os.Getenv("MOLT_PROBE"))
		return
	case "hang":
		cmd := exec.Command(exe, "grandchild")
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Start(); err != nil {
			os.Exit(4)
		}
		os.WriteFile(filepath.Join(dir, "grandchild.pid"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644)
		time.Sleep(time.Hour)
	}
	answer := os.Getenv("MOLT_PROBE")
	if answer == "" {
		fmt.Println("not probed")
		return
	}
	if err := os.WriteFile(answer, []byte(version+"\n"), 0o600); err != nil {
		os.Exit(5)
	}
}
`

// needGo skips t when there is no go tool to build the probed programs.
func needGo(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("go"); err == nil {
		return
	}
	if _, err := os.Stat(filepath.Join(runtime.GOROOT(), "bin", "go")); err == nil {
		return
	}
	msg := "the go tool is not on PATH nor in GOROOT/bin; install Go (https://go.dev/dl/) and put its bin folder on PATH"
	if os.Getenv("MOLT_REQUIRE_TOOLS") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// probeFixture is an updater of a target whose 1.1.0 release is the
// probe program, behaving as mode says.
type probeFixture struct {
	o   Options
	src *memSource
	evs *events
	now time.Time
}

func newProbeFixture(t *testing.T, program []byte, mode string) *probeFixture {
	t.Helper()
	f := &probeFixture{src: newMem("1.1.0", program), now: time.Now().UTC().Truncate(time.Second)}
	f.o = opts(t, f.src)
	f.o.SkipProbe = false
	f.o.now = func() time.Time { return f.now }
	f.evs = new(events).record(&f.o)
	f.setMode(t, mode)
	return f
}

func (f *probeFixture) setMode(t *testing.T, mode string) {
	writeFile(t, filepath.Join(filepath.Dir(f.o.Target), "probe-mode"), []byte(mode))
}

func (f *probeFixture) updater(t *testing.T) *Updater {
	t.Helper()
	u, err := New(f.o)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// probed asserts that the probe ran and failed (or not) as expected, that
// nothing was installed, and that nothing was left behind.
func (f *probeFixture) refused(t *testing.T, err error, want error) {
	t.Helper()
	var ue *Error
	if !errors.Is(err, want) || !errors.As(err, &ue) || ue.Step != StepProbe || ue.To != "1.1.0" {
		t.Fatalf("Check: %v, want %v at the probe step", err, want)
	}
	if p := f.evs.of(StepProbe); len(p) != 1 || !errors.Is(p[0].Err, want) {
		t.Fatalf("probe events %+v", p)
	}
	if got := content(t, f.o.Target); got != "old" {
		t.Fatalf("target %q after a failed probe", got)
	}
	onlyFiles(t, filepath.Dir(f.o.Target), "app", "probe-mode", "grandchild.pid")
	f.noAnswerFileLeft(t)
}

func (f *probeFixture) noAnswerFileLeft(t *testing.T) {
	t.Helper()
	if m, _ := filepath.Glob(filepath.Join(f.o.StateDir, ".probe-*")); len(m) != 0 {
		t.Errorf("probe answer files left in the state dir: %v", m)
	}
}

// TestProbe runs the staged binary, a real program, in every way a probe
// can go. The program is built once; the cases run one after the other.
func TestProbe(t *testing.T) {
	// Not parallel, on purpose: exec of a freshly written file fails with
	// "text file busy" when another goroutine forks while a download is
	// written (see TestProbeTextFileBusyIsNoVerdict), so nothing else may
	// run while these probes do.
	needGo(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	path, err := testbin.Build(ctx, t.TempDir(), "prober", probeProgram)
	if err != nil {
		t.Fatal(err)
	}
	program, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("a banner before the answer passes", func(t *testing.T) {
		f := newProbeFixture(t, program, "banner 1.1.0")
		res, err := f.updater(t).Check(context.Background())
		if err != nil || !res.Updated {
			t.Fatalf("Check: %+v, %v", res, err)
		}
		if p := f.evs.of(StepProbe); len(p) != 1 || p[0].Err != nil {
			t.Fatalf("probe events %+v, want one that passed", p)
		}
		if got, _ := os.ReadFile(f.o.Target); !bytes.Equal(got, program) {
			t.Fatal("the probed program was not installed")
		}
		if fi, err := os.Stat(f.o.Target); err != nil || fi.Mode().Perm()&0o100 == 0 {
			t.Fatalf("installed program is not executable: %v %v", fi.Mode(), err)
		}
		f.noAnswerFileLeft(t)
	})

	t.Run("v-prefixed answer of the same version passes", func(t *testing.T) {
		f := newProbeFixture(t, program, "answer v1.1.0")
		if res, err := f.updater(t).Check(context.Background()); err != nil || !res.Updated {
			t.Fatalf("Check: %+v, %v", res, err)
		}
	})

	t.Run("another version is marked bad until Forget", func(t *testing.T) {
		f := newProbeFixture(t, program, "answer 9.9.9")
		u := f.updater(t)
		_, err := u.Check(context.Background())
		f.refused(t, err, ErrProbe)
		if !contains(err.Error(), `says "9.9.9"`, "promised 1.1.0") {
			t.Errorf("error %q does not say what was answered and promised", err)
		}
		// The next look skips it, saying why and since when.
		res, err := u.Check(context.Background())
		if err != nil || res.Updated {
			t.Fatalf("second Check: %+v, %v, want nothing installed", res, err)
		}
		if len(res.Skipped) != 1 {
			t.Fatalf("Skipped %+v, want 1.1.0", res.Skipped)
		}
		sk := res.Skipped[0]
		if sk.Version != "1.1.0" || !strings.HasPrefix(sk.Why, "probe: ") || !contains(sk.Why, "9.9.9") || !sk.Since.Equal(f.now) {
			t.Fatalf("Skipped %+v, want 1.1.0 with the probe's reason since %v", sk, f.now)
		}
		if strings.Contains(sk.Why, "update: ") {
			t.Errorf("reason %q repeats the package prefix", sk.Why)
		}
		if _, err := u.Find(context.Background()); !errors.Is(err, ErrUpToDate) {
			t.Fatalf("Find: %v, want ErrUpToDate", err)
		}
		if n := f.src.opens.Load(); n != 1 {
			t.Fatalf("downloaded %d times, want once", n)
		}
		// A fixed build of the same version, after Forget.
		had, err := u.Forget("v1.1.0")
		if err != nil || !had {
			t.Fatalf("Forget: %v, %v, want the mark removed", had, err)
		}
		if had, err := u.Forget("1.1.0"); err != nil || had {
			t.Fatalf("second Forget: %v, %v, want no mark left", had, err)
		}
		f.setMode(t, "answer 1.1.0")
		if res, err := u.Check(context.Background()); err != nil || !res.Updated || len(res.Skipped) != 0 {
			t.Fatalf("Check after Forget: %+v, %v", res, err)
		}
	})

	t.Run("a long answer is cut in the message", func(t *testing.T) {
		long := strings.Repeat("x", 200)
		f := newProbeFixture(t, program, "answer "+long)
		_, err := f.updater(t).Check(context.Background())
		f.refused(t, err, ErrProbe)
		if strings.Contains(err.Error(), long) || !strings.Contains(err.Error(), strings.Repeat("x", 80)+"...") {
			t.Fatalf("error %q does not cut the answer at 80 characters", err)
		}
	})

	for _, tc := range []struct{ mode, says string }{
		{"silent", "exited without answering"},
		{"fail", "exit status 3"},
	} {
		t.Run("no answer: "+tc.mode, func(t *testing.T) {
			f := newProbeFixture(t, program, tc.mode)
			u := f.updater(t)
			_, err := u.Check(context.Background())
			f.refused(t, err, ErrProbeNoAnswer)
			if errors.Is(err, ErrProbe) || !contains(err.Error(), tc.says) {
				t.Fatalf("Check: %v, want only ErrProbeNoAnswer saying %q", err, tc.says)
			}
			// Not marked bad: a fixed build of 1.1.0 may come.
			res, err := u.Find(context.Background())
			if err != nil || res.To != "1.1.0" || len(res.Skipped) != 0 {
				t.Fatalf("Find: %+v, %v, want 1.1.0 offered again", res, err)
			}
			if s := readStateFile(t, f.o.StateDir); len(s.Bad) != 0 {
				t.Fatalf("marked bad: %+v", s.Bad)
			}
		})
	}

	t.Run("an answer file that went is an error, not a verdict", func(t *testing.T) {
		f := newProbeFixture(t, program, "remove")
		u := f.updater(t)
		_, err := u.Check(context.Background())
		var ue *Error
		if err == nil || errors.Is(err, ErrProbe) || errors.Is(err, ErrProbeNoAnswer) || !errors.As(err, &ue) || ue.Step != StepProbe ||
			!contains(err.Error(), "reading the answer") {
			t.Fatalf("Check: %v, want an error reading the answer", err)
		}
		if s := readStateFile(t, f.o.StateDir); len(s.Bad) != 0 {
			t.Fatalf("marked bad: %+v", s.Bad)
		}
		if got := content(t, f.o.Target); got != "old" {
			t.Fatalf("target %q", got)
		}
	})

	t.Run("a hung program with a grandchild holding stdout is killed", func(t *testing.T) {
		f := newProbeFixture(t, program, "hang")
		u := f.updater(t)
		start := time.Now()
		done := make(chan error, 1)
		go func() { _, err := u.Check(context.Background()); done <- err }()
		var err error
		select {
		case err = <-done:
		case <-time.After(probeTimeout + probeWaitDelay + 20*time.Second):
			t.Fatalf("the probe still runs after %v", time.Since(start))
		}
		took := time.Since(start)
		f.refused(t, err, ErrProbeNoAnswer)
		if errors.Is(err, ErrProbe) || !contains(err.Error(), "killed") {
			t.Fatalf("Check: %v, want ErrProbeNoAnswer saying it was killed", err)
		}
		if took < probeTimeout || took > probeTimeout+probeWaitDelay+10*time.Second {
			t.Errorf("the probe took %v, want about %v", took, probeTimeout)
		}
		if s := readStateFile(t, f.o.StateDir); len(s.Bad) != 0 {
			t.Fatalf("marked bad: %+v", s.Bad)
		}
		grandchildDies(t, filepath.Join(filepath.Dir(f.o.Target), "grandchild.pid"))
	})

	t.Run("cancelling stops a hung probe at once", func(t *testing.T) {
		f := newProbeFixture(t, program, "hang")
		u := f.updater(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		pidFile := filepath.Join(filepath.Dir(f.o.Target), "grandchild.pid")
		go func() {
			// Cancel once the program runs, with its grandchild.
			for range 1000 {
				if b, err := os.ReadFile(pidFile); err == nil && len(b) > 0 {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			cancel()
		}()
		start := time.Now()
		_, err := u.Check(ctx)
		if !errors.Is(err, context.Canceled) || errors.Is(err, ErrProbe) {
			t.Fatalf("Check: %v, want context.Canceled", err)
		}
		if took := time.Since(start); took >= probeTimeout {
			t.Fatalf("took %v: cancellation did not stop the probe", took)
		}
		if s := readStateFile(t, f.o.StateDir); len(s.Bad) != 0 {
			t.Fatalf("marked bad after a cancellation: %+v", s.Bad)
		}
		if got := content(t, f.o.Target); got != "old" {
			t.Fatalf("target %q", got)
		}
		grandchildDies(t, pidFile)
	})
}

// grandchildDies waits for the process whose pid is in pidFile to be gone
// (or a zombie nobody reaps, on Linux: it no longer runs). On Windows it
// is gone once the probe's job object is terminated; elsewhere it is not
// looked at.
func grandchildDies(t *testing.T, pidFile string) {
	t.Helper()
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("the program never started its grandchild: %v", err)
	}
	pid, err := strconv.Atoi(string(b))
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "linux" && runtime.GOOS != "windows" {
		return
	}
	waitFor(t, 5*time.Second, "the grandchild to die with the probe", func() bool { return processGone(pid) })
}

// TestProbeNotExecutable: a verified file that is no program at all (a
// broken build, another format) cannot run here: ErrProbe, marked bad.
func TestProbeNotExecutable(t *testing.T) {
	t.Parallel()
	junk := make([]byte, 4096)
	for i := range junk {
		junk[i] = byte(rand.IntN(256))
	}
	junk[0], junk[1] = 0, 1 // never "#!" nor a known magic
	f := newProbeFixture(t, junk, "")
	u := f.updater(t)
	_, err := u.Check(context.Background())
	f.refused(t, err, ErrProbe)
	if !contains(err.Error(), "cannot run here") {
		t.Fatalf("Check: %v, want it to say the file cannot run here", err)
	}
	res, err := u.Check(context.Background())
	if err != nil || res.Updated || len(res.Skipped) != 1 || !contains(res.Skipped[0].Why, "cannot run here") {
		t.Fatalf("second Check: %+v, %v, want 1.1.0 skipped as unable to run", res, err)
	}
}

// TestProbeSkippedForAnotherPlatform: an asset for another architecture
// cannot be run here to ask it, so it is installed unprobed (a cross
// install); so is any asset with SkipProbe.
func TestProbeSkippedForAnotherPlatform(t *testing.T) {
	t.Parallel()
	other := "riscv64"
	if runtime.GOARCH == other {
		other = "amd64"
	}
	for _, tc := range []struct {
		name      string
		arch      string
		skipProbe bool
	}{{"another arch", other, false}, {"SkipProbe", runtime.GOARCH, true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newProbeFixture(t, []byte("not runnable here"), "")
			f.src.listing.Releases[0].Assets[0].Arch = tc.arch
			f.o.Arch = tc.arch
			f.o.SkipProbe = tc.skipProbe
			res, err := f.updater(t).Check(context.Background())
			if err != nil || !res.Updated {
				t.Fatalf("Check: %+v, %v", res, err)
			}
			if p := f.evs.of(StepProbe); len(p) != 0 {
				t.Fatalf("probed: %+v", p)
			}
			if fi, err := os.Stat(f.o.Target); err != nil || fi.Mode().Perm()&0o100 == 0 {
				t.Fatalf("installed file is not executable: %v", err)
			}
		})
	}
}

// TestProbeAnswerFileUnusable: with no state directory to put the answer
// file in, the probe fails and the release is not marked bad.
func TestProbeAnswerFileUnusable(t *testing.T) {
	t.Parallel()
	if err := runProbe(context.Background(), "/bin/true", filepath.Join(t.TempDir(), "gone"), "1.1.0"); err == nil ||
		errors.Is(err, ErrProbe) || !contains(err.Error(), "answer file") {
		t.Fatalf("runProbe without a directory: %v, want an answer-file error", err)
	}
}

// TestAnswerProbe runs this test binary as a probed program: AnswerProbe
// (and New) write the version to the answer file and exit at once.
func TestAnswerProbe(t *testing.T) {
	if os.Getenv(ProbeEnv) != "" {
		// The child: answer, as a program's main would.
		switch os.Getenv("MOLT_TEST_ANSWER") {
		case "new":
			New(Options{App: "app", Version: "2.3.4"})
		case "main-version":
			AnswerProbe("")
		default:
			AnswerProbe("1.2.3")
		}
		t.Fatal("AnswerProbe returned under a probe")
	}
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	for _, tc := range []struct {
		how, want string
		code      int
	}{{"answer", "1.2.3\n", 0}, {"new", "2.3.4\n", 0}, {"main-version", "", 0}, {"unwritable", "", 1}} {
		t.Run(tc.how, func(t *testing.T) {
			t.Parallel()
			answer := filepath.Join(t.TempDir(), "answer")
			if tc.how == "unwritable" {
				answer = filepath.Join(t.TempDir(), "no", "such", "dir", "answer")
			}
			cmd := exec.Command(exe, "-test.run=^TestAnswerProbe$", "-test.count=1")
			cmd.Env = append(os.Environ(), ProbeEnv+"="+answer, "MOLT_TEST_ANSWER="+tc.how)
			out, err := cmd.CombinedOutput()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code {
				t.Fatalf("exit code %d, want %d; output:\n%s", code, tc.code, out)
			}
			if bytes.Contains(out, []byte("PASS")) || bytes.Contains(out, []byte("FAIL")) {
				t.Fatalf("the test binary ran its tests instead of answering:\n%s", out)
			}
			if tc.code != 0 {
				if !bytes.Contains(out, []byte("answering the probe")) {
					t.Fatalf("no word of the failure on stderr: %s", out)
				}
				return
			}
			got, err := os.ReadFile(answer)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			if tc.how == "main-version" {
				// The child is this binary: its main module's version is ours.
				v, _ := (&Options{}).mainVersion()
				want = v + "\n"
			}
			if string(got) != want {
				t.Fatalf("answered %q, want %q", got, want)
			}
		})
	}
}

var _ source.Source = (*memSource)(nil)

// busyStage stages files as apply.Replace does, but keeps each open for
// writing a little longer, as a child forked by another goroutine holds a
// copy of the descriptor until it execs (golang.org/issue/22315).
type busyStage struct {
	apply.Replace
	t *testing.T
}

func (b *busyStage) Stage(target string) (*os.File, error) {
	f, err := b.Replace.Stage(target)
	if err != nil {
		return nil, err
	}
	w, err := os.OpenFile(f.Name(), os.O_WRONLY, 0)
	if err != nil {
		f.Close()
		return nil, err
	}
	b.t.Cleanup(func() { w.Close() })
	return f, nil
}

// TestProbeTextFileBusyIsNoVerdict: "text file busy" says that something
// in this process still has the staged file open for writing (on Linux,
// any fork by another goroutine while the download was written), not that
// the release cannot run here; it must not mark the release bad.
func TestProbeTextFileBusyIsNoVerdict(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("ETXTBSY on exec is a Linux matter")
	}
	t.Parallel()
	f := newProbeFixture(t, []byte("#!/bin/sh\nexit 0\n"), "")
	f.o.Applier = &busyStage{t: t}
	u := f.updater(t)
	_, err := u.Check(context.Background())
	if err == nil {
		t.Fatal("Check installed a file held open for writing")
	}
	if errors.Is(err, ErrProbe) {
		t.Errorf("Check: %v: ErrProbe for a busy file", err)
	}
	if s := readStateFile(t, f.o.StateDir); len(s.Bad) != 0 {
		t.Fatalf("marked bad for a busy file: %+v", s.Bad)
	}
}
