package update

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/molt-go/update/restart"
	"github.com/molt-go/update/updatetest"
)

// TestNewRejectsBadOptions: only mistakes in the options make New fail.
func TestNewRejectsBadOptions(t *testing.T) {
	t.Parallel()
	cases := map[string]func(*Options){
		"no app":              func(o *Options) { o.App = "" },
		"no source":           func(o *Options) { o.Source = nil },
		"negative size":       func(o *Options) { o.MaxAssetSize = -1 },
		"negative retries":    func(o *Options) { o.Retries = -1 },
		"negative starts":     func(o *Options) { o.MaxStarts = -1 },
		"negative round time": func(o *Options) { o.RoundTimeout = -1 },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			o := opts(t, newMem("1.1.0", []byte("new")))
			mutate(&o)
			u, err := New(o)
			if err == nil || u != nil || !strings.HasPrefix(err.Error(), "update: options: ") {
				t.Fatalf("New: %v, %v; want an options error", u, err)
			}
			if _, serr := os.Stat(o.StateDir); serr == nil {
				t.Fatal("New made the state dir despite bad options")
			}
		})
	}
	o := opts(t, newMem("1.1.0", []byte("new")))
	o.App, o.Verifier = "", nil
	_, err := New(o)
	if !errors.Is(err, ErrNoVerifier) || !strings.Contains(err.Error(), "App is empty") {
		t.Fatalf("New with two mistakes: %v, want both named", err)
	}
}

// TestDevBuildNeverUpdates: a version that is not a release makes New
// succeed and Check, Find and Install refuse with ErrDevBuild, before
// anything is listed or downloaded.
func TestDevBuildNeverUpdates(t *testing.T) {
	t.Parallel()
	cases := []struct {
		version string
		allow   bool
	}{
		{"dev", false},
		{"(devel)", false},
		{"", false}, // the build information of a test binary: not a release
		{"dev", true},
		{"1.0.0-dev+local build", true},
	}
	for _, tc := range cases {
		t.Run(tc.version, func(t *testing.T) {
			t.Parallel()
			src := newMem("1.1.0", []byte("new"))
			o := opts(t, src)
			o.Version, o.AllowDevBuild = tc.version, tc.allow
			logs := capture(&o)
			u, err := New(o)
			if err != nil {
				t.Fatalf("New of a dev build: %v", err)
			}
			for name, call := range map[string]func() (*Result, error){
				"Check":   func() (*Result, error) { return u.Check(context.Background()) },
				"Find":    func() (*Result, error) { return u.Find(context.Background()) },
				"Install": func() (*Result, error) { return u.Install(context.Background(), "1.1.0") },
			} {
				res, err := call()
				var ue *Error
				if !errors.Is(err, ErrDevBuild) || !errors.As(err, &ue) || ue.Step != StepFind {
					t.Fatalf("%s: %v, want ErrDevBuild", name, err)
				}
				if res == nil || res.Updated {
					t.Fatalf("%s = %+v", name, res)
				}
				if strings.Count(err.Error(), "update:") != 1 {
					t.Errorf("%s: %q repeats the package prefix", name, err)
				}
			}
			if _, err := u.Forget("1.1.0"); !errors.Is(err, ErrDevBuild) {
				t.Fatalf("Forget: %v, want ErrDevBuild", err)
			}
			if n := src.opens.Load(); n != 0 || content(t, o.Target) != "old" {
				t.Fatalf("a dev build downloaded (%d) or installed", n)
			}
			if n := strings.Count(logs.String(), "updating is off"); n != 1 {
				t.Errorf("logged that updating is off %d times, want once:\n%s", n, logs)
			}
			if !strings.Contains(logs.String(), "level=INFO") || strings.Contains(logs.String(), "level=WARN") {
				t.Errorf("a dev build is news, not a warning:\n%s", logs)
			}
		})
	}
}

// TestDevBuildAllowed: AllowDevBuild with a release version updates.
func TestDevBuildAllowed(t *testing.T) {
	t.Parallel()
	o := opts(t, newMem("1.1.0", []byte("new")))
	o.AllowDevBuild = true
	u, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := u.Check(context.Background()); err != nil || !res.Updated {
		t.Fatalf("Check: %+v, %v", res, err)
	}
}

// TestPseudoDevVersionIsADevBuild: Options.Version says a version that is
// not a release, "0.0.0-dev" among its examples, makes a development build.
func TestPseudoDevVersionIsADevBuild(t *testing.T) {
	t.Parallel()
	o := opts(t, newMem("1.1.0", []byte("new")))
	o.Version = "0.0.0-dev"
	u, _ := New(o)
	if _, err := u.Check(context.Background()); !errors.Is(err, ErrDevBuild) {
		t.Fatalf("Check as 0.0.0-dev: %v, want ErrDevBuild", err)
	}
}

// TestGoRunIsADevBuild: a released version that updates its own
// executable, when that lives in the go build cache (go run, go test),
// looks (Find) but never installs. The test binary is such an executable.
func TestGoRunIsADevBuild(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil || !inBuildCache(exe) {
		t.Skipf("this test binary (%s) is not in the go build cache; run it with go test", exe)
	}
	forgetLock(t, exe)
	src := newMem("1.1.0", []byte("new"))
	o := opts(t, src)
	o.Target = "" // this very executable
	// Even a broken dev-build check must never replace the test binary.
	o.Applier = &updatetest.Applier{ApplyErr: errors.New("the test binary must not be replaced")}
	u, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := u.Find(context.Background()); err != nil || res.To != "1.1.0" {
		t.Fatalf("Find under go run: %+v, %v, want it to look", res, err)
	}
	if _, err := u.Check(context.Background()); !errors.Is(err, ErrDevBuild) || !strings.Contains(err.Error(), "go build cache") {
		t.Fatalf("Check under go run: %v, want ErrDevBuild", err)
	}
	if n := src.opens.Load(); n != 0 {
		t.Fatalf("downloaded %d times under go run", n)
	}
}

func TestInBuildCache(t *testing.T) {
	cache := filepath.Join(t.TempDir(), "gocache")
	t.Setenv("GOCACHE", cache)
	for path, want := range map[string]bool{
		"/tmp/go-build1234/b001/exe/hello": true,
		filepath.Join(cache, "x", "hello"): true,
		"/usr/local/bin/hello":             false,
		cache + "-other/hello":             false,
		"/opt/gobuild/hello":               false,
	} {
		if got := inBuildCache(path); got != want {
			t.Errorf("inBuildCache(%s) = %v, want %v", path, got, want)
		}
	}
}

// TestDefaultStateDir: with no StateDir, the state lives in the user's
// config folder; with none to be found, updating is off and the program
// runs on.
func TestDefaultStateDir(t *testing.T) {
	home := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, "config"))
	t.Setenv("HOME", home)
	t.Setenv("AppData", filepath.Join(home, "config"))
	o := opts(t, newMem("1.1.0", []byte("new")))
	o.StateDir = ""
	u, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := u.Check(context.Background()); err != nil || !res.Updated {
		t.Fatalf("Check: %+v, %v", res, err)
	}
	want := filepath.Join(home, "config", "molt", "app", "state.json")
	if _, err := os.Stat(want); err != nil {
		t.Fatalf("no state at %s: %v", want, err)
	}

	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("HOME", "")
	t.Setenv("AppData", "")
	if _, err := os.UserConfigDir(); err == nil {
		t.Skip("this platform finds a config folder without HOME")
	}
	o = opts(t, newMem("1.1.0", []byte("new")))
	o.StateDir = ""
	u, err = New(o)
	if err != nil {
		t.Fatalf("New without a config folder: %v", err)
	}
	_, err = u.Check(context.Background())
	var se *StateError
	if !errors.Is(err, ErrState) || !errors.As(err, &se) || se.Path != "<user config dir>/molt/app" || !strings.Contains(err.Error(), "set Options.StateDir") {
		t.Fatalf("Check without a config folder: %v, want ErrState saying to set StateDir", err)
	}
}

// TestStateDirUnusable: a state dir that cannot be made (a file is in the
// way) turns updating off without stopping the program.
func TestStateDirUnusable(t *testing.T) {
	t.Parallel()
	src := newMem("1.1.0", []byte("new"))
	o := opts(t, src)
	writeFile(t, o.StateDir, []byte("a file, not a folder"))
	logs := capture(&o)
	u, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	_, err = u.Check(context.Background())
	var se *StateError
	if !errors.Is(err, ErrState) || !errors.As(err, &se) || se.Path != o.StateDir {
		t.Fatalf("Check: %v, want a StateError naming %s", err, o.StateDir)
	}
	if !contains(se.Error(), o.StateDir, "updating is off") {
		t.Errorf("StateError %q does not say what and why", se)
	}
	if !strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("an unusable state dir is not a warning:\n%s", logs)
	}
	if n := src.opens.Load(); n != 0 || content(t, o.Target) != "old" {
		t.Fatal("updated without a state dir")
	}
}

// TestStateLockUnusable: a lock file that cannot be opened (here a folder
// in its place) stops the update with an error, installs nothing, and
// leaves the program running.
func TestStateLockUnusable(t *testing.T) {
	t.Parallel()
	src := newMem("1.1.0", []byte("new"))
	o := opts(t, src)
	if err := os.MkdirAll(filepath.Join(o.StateDir, "lock", "in the way"), 0o700); err != nil {
		t.Fatal(err)
	}
	u, _ := New(o)
	if u == nil {
		t.Fatal("New returned no updater")
	}
	_, err := u.Check(context.Background())
	if err == nil || errors.Is(err, ErrInProgress) {
		t.Fatalf("Check with an unusable lock: %v, want an error that is not ErrInProgress", err)
	}
	if n := src.opens.Load(); n != 0 || content(t, o.Target) != "old" {
		t.Fatal("updated without the lock")
	}
}

// TestReadOnlyStateDirDoesNotFailNew: New's doc says a read-only state
// folder does not stop the program: New returns an Updater whose Check
// reports ErrState. A lock file that cannot be created is that case.
func TestReadOnlyStateDirDoesNotFailNew(t *testing.T) {
	t.Parallel()
	o := opts(t, newMem("1.1.0", []byte("new")))
	if err := os.MkdirAll(filepath.Join(o.StateDir, "lock", "in the way"), 0o700); err != nil {
		t.Fatal(err)
	}
	u, err := New(o)
	if err != nil {
		t.Fatalf("New with an unusable state folder: %v, want nil", err)
	}
	if _, err := u.Check(context.Background()); !errors.Is(err, ErrState) {
		t.Fatalf("Check: %v, want ErrState", err)
	}
}

// TestLeftoversRemoved: temporary files a crash left in the state dir go
// at the next start; staged files beside the target at the next update.
// The backup stays.
func TestLeftoversRemoved(t *testing.T) {
	t.Parallel()
	o := opts(t, newMem("1.1.0", []byte("new")))
	crashed := filepath.Join(o.StateDir, ".state.json.tmp-12345")
	writeFile(t, crashed, []byte(`{"serial": 9`))
	u, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(crashed); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("New left %s: %v", crashed, err)
	}
	// Another crash while running, and a staged download and a half-made
	// backup copy beside the target.
	dir := filepath.Dir(o.Target)
	writeFile(t, crashed, []byte(`{`))
	staged := filepath.Join(dir, ".app.new-999")
	halfBackup := filepath.Join(dir, ".app.old-999")
	writeFile(t, staged, []byte("half a download"))
	writeFile(t, halfBackup, []byte("half a copy"))
	unrelated := filepath.Join(dir, "notes.txt")
	writeFile(t, unrelated, []byte("mine"))
	if res, err := u.Check(context.Background()); err != nil || !res.Updated {
		t.Fatalf("Check: %+v, %v", res, err)
	}
	for _, p := range []string{crashed, staged, halfBackup} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Check left %s", p)
		}
	}
	onlyFiles(t, dir, "app", "notes.txt", backupName(t, o.Target))
	onlyFiles(t, o.StateDir, "state.json", "lock")
}

// TestRollbackWithoutBackup: the pending version started too often, but
// its backup is gone: the rollback cannot happen, which is reported once;
// the version stays, marked bad, no longer pending, and the next start
// is clean.
func TestRollbackWithoutBackup(t *testing.T) {
	t.Parallel()
	o, _ := installed11(t)
	o.MaxStarts = 1
	rs := &updatetest.Restarter{}
	o.Restarter = rs
	if _, err := New(o); err != nil {
		t.Fatalf("first start: %v", err)
	}
	bak := filepath.Join(filepath.Dir(o.Target), backupName(t, o.Target))
	if err := os.Remove(bak); err != nil {
		t.Fatalf("removing the backup: %v", err)
	}
	_, err := New(o)
	var ue *Error
	if !errors.Is(err, ErrNoBackup) || errors.Is(err, ErrRolledBack) || !errors.As(err, &ue) || ue.Step != StepRollback {
		t.Fatalf("second start: %v, want ErrNoBackup at the rollback step", err)
	}
	if !strings.Contains(err.Error(), "1.1.0 stays installed") {
		t.Errorf("error %q does not say what stays", err)
	}
	if len(rs.Calls()) != 0 || content(t, o.Target) != "new" {
		t.Fatalf("restarts %v, target %q: want 1.1.0 kept, nothing restarted", rs.Calls(), content(t, o.Target))
	}
	s := readStateFile(t, o.StateDir)
	if s.Pending != nil {
		t.Fatalf("still pending: %+v", s.Pending)
	}
	if b := s.badMarkOf("1.1.0"); b == nil || !strings.Contains(b.Why, "no backup") {
		t.Fatalf("bad marks %+v, want 1.1.0 marked for having no backup", s.Bad)
	}
	for i := range 3 {
		if _, err := New(o); err != nil {
			t.Fatalf("start %d after the failed rollback: %v", i+3, err)
		}
	}
}

// TestRollbackCutShort: a rollback whose revert fails leaves the record
// that it began; the next start of the new version tries again, and a
// start of the old version (the revert happened, the bookkeeping did not)
// finishes it.
func TestRollbackCutShort(t *testing.T) {
	t.Parallel()
	boom := errors.New("revert refused, says the test")
	for _, next := range []string{"1.1.0", "1.0.0"} {
		t.Run("then "+next+" starts", func(t *testing.T) {
			t.Parallel()
			o, _ := installed11(t)
			o.MaxStarts = 1
			rs := &updatetest.Restarter{}
			o.Restarter = rs
			if _, err := New(o); err != nil {
				t.Fatal(err)
			}
			failing := o
			failing.Applier = &updatetest.Applier{RevertErr: boom}
			_, err := New(failing)
			if !errors.Is(err, boom) || errors.Is(err, ErrRolledBack) {
				t.Fatalf("start with a failing revert: %v, want the revert's error", err)
			}
			if s := readStateFile(t, o.StateDir); s.Pending == nil || !s.Pending.RollingBack {
				t.Fatalf("pending %+v, want the rollback recorded as begun", s.Pending)
			}
			o.Version = next
			_, err = New(o)
			switch next {
			case "1.1.0":
				if !errors.Is(err, ErrRolledBack) || !strings.Contains(err.Error(), "a rollback was cut short") {
					t.Fatalf("start of 1.1.0: %v, want the rollback finished", err)
				}
				if got := content(t, o.Target); got != "old" {
					t.Fatalf("target %q", got)
				}
				if len(rs.Calls()) != 1 {
					t.Fatalf("restarts %v, want one into 1.0.0", rs.Calls())
				}
			case "1.0.0":
				if err != nil {
					t.Fatalf("start of 1.0.0: %v, want the bookkeeping finished quietly", err)
				}
				if len(rs.Calls()) != 0 {
					t.Fatalf("restarted %v", rs.Calls())
				}
			}
			s := readStateFile(t, o.StateDir)
			if s.Pending != nil || !s.isBad("1.1.0") {
				t.Fatalf("state %+v, want 1.1.0 bad and nothing pending", s)
			}
		})
	}
}

// TestRollbackRestartFails: when the previous version cannot be
// restarted after a rollback, New says both.
func TestRollbackRestartFails(t *testing.T) {
	t.Parallel()
	o, _ := installed11(t)
	o.MaxStarts = 1
	New(o)
	boom := errors.New("exec refused, says the test")
	o.Restarter = &updatetest.Restarter{Err: boom}
	_, err := New(o)
	if !errors.Is(err, ErrRolledBack) || !errors.Is(err, boom) || !strings.Contains(err.Error(), "restarting the previous version") {
		t.Fatalf("New: %v, want ErrRolledBack and the restart's error", err)
	}
	if got := content(t, o.Target); got != "old" {
		t.Fatalf("target %q", got)
	}
}

// TestRollbackHandedOver: after a startup rollback that handed over to
// the previous version, this process never installs.
func TestRollbackHandedOver(t *testing.T) {
	t.Parallel()
	o, _ := installed11(t)
	o.MaxStarts = 1
	New(o)
	o.Restarter = &updatetest.Restarter{Outcome: restart.HandedOver}
	u, err := New(o)
	if !errors.Is(err, ErrRolledBack) {
		t.Fatalf("New: %v, want ErrRolledBack", err)
	}
	if _, err := u.Check(context.Background()); !errors.Is(err, ErrInProgress) {
		t.Fatalf("Check after the hand-over: %v, want ErrInProgress", err)
	}
}

// TestLeftoversThatCannotGo: leftovers that cannot be removed (here
// folders with something in them) are warned about, and the update goes
// on.
func TestLeftoversThatCannotGo(t *testing.T) {
	t.Parallel()
	o := opts(t, newMem("1.1.0", []byte("new")))
	logs := capture(&o)
	stuck := filepath.Join(o.StateDir, ".state.json.tmp-1", "x")
	writeFile(t, stuck, nil)
	u, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "removing leftovers in the state directory") {
		t.Errorf("New did not warn about the stuck leftover:\n%s", logs)
	}
	writeFile(t, filepath.Join(filepath.Dir(o.Target), ".app.new-1", "x"), nil)
	if res, err := u.Check(context.Background()); err != nil || !res.Updated {
		t.Fatalf("Check: %+v, %v", res, err)
	}
	if !strings.Contains(logs.String(), "removing leftovers of an earlier update") {
		t.Errorf("Check did not warn about the stuck staged file:\n%s", logs)
	}
}

// TestPendingOfAnotherVersion: the old version starting again while a new
// one is pending (it was installed without a restart) neither counts nor
// rolls back.
func TestPendingOfAnotherVersion(t *testing.T) {
	t.Parallel()
	o, _ := installed11(t)
	o.MaxStarts = 1
	old := o
	old.Version = "1.0.0"
	rs := &updatetest.Restarter{}
	old.Restarter = rs
	for range 3 {
		if _, err := New(old); err != nil {
			t.Fatalf("New of 1.0.0 with 1.1.0 pending: %v", err)
		}
	}
	s := readStateFile(t, o.StateDir)
	if s.Pending == nil || s.Pending.Version != "1.1.0" || s.Pending.Starts != 0 || len(s.Bad) != 0 {
		t.Fatalf("state %+v, want 1.1.0 pending, never started", s)
	}
	if len(rs.Calls()) != 0 || content(t, o.Target) != "new" {
		t.Fatal("rolled back by another version's start")
	}
}

// TestRestartAndRevertFail: the new version cannot be started, and the
// old one cannot be put back either. The error says both; the rollback
// is recorded as begun, so the next start of the new version finishes it.
func TestRestartAndRevertFail(t *testing.T) {
	t.Parallel()
	o := opts(t, newMem("1.1.0", []byte("new")))
	startErr := errors.New("child exited, says the test")
	revertErr := errors.New("revert refused, says the test")
	o.Restarter = &updatetest.Restarter{Err: startErr}
	o.Applier = &updatetest.Applier{RevertErr: revertErr}
	u, _ := New(o)
	_, err := u.Check(context.Background())
	var ue *Error
	if !errors.Is(err, startErr) || !errors.Is(err, revertErr) || !errors.As(err, &ue) || ue.Step != StepRestart {
		t.Fatalf("Check: %v, want both errors at the restart step", err)
	}
	if s := readStateFile(t, o.StateDir); s.Pending == nil || !s.Pending.RollingBack {
		t.Fatalf("pending %+v, want the rollback recorded as begun", s.Pending)
	}
	next := o
	next.Version = "1.1.0"
	next.Applier = nil
	next.Restarter = &updatetest.Restarter{}
	if _, err := New(next); !errors.Is(err, ErrRolledBack) || content(t, o.Target) != "old" {
		t.Fatalf("next start of 1.1.0: %v, target %q; want the rollback finished", err, content(t, o.Target))
	}
}

// TestRestartFailsRevertFailsIsNotRolledBack: ErrRolledBack means "the
// previous one was put back" (errors.go); when the revert failed it was
// not, and the error must not say so.
func TestRestartFailsRevertFailsIsNotRolledBack(t *testing.T) {
	t.Parallel()
	o := opts(t, newMem("1.1.0", []byte("new")))
	o.Restarter = &updatetest.Restarter{Err: errors.New("child exited")}
	o.Applier = &updatetest.Applier{RevertErr: errors.New("revert refused")}
	u, _ := New(o)
	_, err := u.Check(context.Background())
	if content(t, o.Target) == "new" && errors.Is(err, ErrRolledBack) {
		t.Fatalf("Check: %v: says rolled back, but the target still holds the new version", err)
	}
}

// stateBreaker replaces the state file by a folder, so the next save fails.
func stateBreaker(dir string) {
	p := statePath(dir)
	os.Remove(p)
	os.MkdirAll(filepath.Join(p, "in the way"), 0o700)
}

// breakingRestarter breaks the state and fails, so the rollback after the
// failed restart cannot record that it began.
type breakingRestarter struct{ dir string }

func (b breakingRestarter) Restart(context.Context, string) (restart.Outcome, error) {
	stateBreaker(b.dir)
	return restart.NotStarted, errStart
}

var errStart = errors.New("child exited, says the test")

// noBackupBreaking breaks the state and has no backup.
type noBackupBreaking struct {
	updatetest.Applier
	dir string
}

func (n *noBackupBreaking) Revert(context.Context, string) error {
	stateBreaker(n.dir)
	return ErrNoBackup
}

// TestRollbackStateNotSaved: a rollback that cannot save its records says
// so, with the cause.
func TestRollbackStateNotSaved(t *testing.T) {
	t.Parallel()
	t.Run("before the revert", func(t *testing.T) {
		t.Parallel()
		o := opts(t, newMem("1.1.0", []byte("new")))
		o.Restarter = breakingRestarter{dir: o.StateDir}
		u, _ := New(o)
		_, err := u.Check(context.Background())
		if !errors.Is(err, errStart) || !errors.Is(err, ErrState) {
			t.Fatalf("Check: %v, want the restart's error and ErrState", err)
		}
	})
	t.Run("after a revert with no backup", func(t *testing.T) {
		t.Parallel()
		o, _ := installed11(t)
		o.MaxStarts = 1
		if _, err := New(o); err != nil {
			t.Fatal(err)
		}
		o.Applier = &noBackupBreaking{dir: o.StateDir}
		// Trouble with the state is environment trouble: New goes on, and
		// Check says why updating is off.
		u, err := New(o)
		if err != nil {
			t.Fatalf("New: %v, want updating off, not a failure", err)
		}
		if _, err := u.Check(context.Background()); !errors.Is(err, ErrNoBackup) || !errors.Is(err, ErrState) {
			t.Fatalf("Check: %v, want ErrNoBackup and ErrState", err)
		}
	})
}

// TestLockDirCreated: the shared folder of executable locks is made on
// first use in the temporary folder, writable by all users.
func TestLockDirCreated(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	d := lockDir()
	if d != filepath.Join(tmp, "molt-locks") {
		t.Fatalf("lockDir() = %s, want it in the temporary folder %s", d, tmp)
	}
	fi, err := os.Stat(d)
	if err != nil || !fi.IsDir() {
		t.Fatalf("lock folder: %v, %v", fi, err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o777 {
		t.Fatalf("lock folder mode %v, want writable by all", fi.Mode())
	}
	if p := targetLockPath("/opt/app"); filepath.Dir(p) != d {
		t.Fatalf("targetLockPath = %s, not in %s", p, d)
	}
}

// TestLockDirIsSticky: lockDir's doc says the folder is "sticky and
// writable by all, like the temporary folder", so that no user can remove
// or replace another's lock files.
func TestLockDirIsSticky(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no sticky bit on windows")
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	fi, err := os.Stat(lockDir())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSticky == 0 {
		t.Fatalf("lock folder mode %v, want sticky", fi.Mode())
	}
}
