package agent

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/molt-go/update/agent/deploylog/logtest"

	"github.com/molt-go/update/agent/deploylog"

	"github.com/molt-go/update/agent/supervise"

	"github.com/molt-go/update/agent/git"
	"github.com/molt-go/update/internal/gittest"
)

// origin is a real git repository whose build is its build.sh.
type origin struct{ *gittest.Repo }

func newOrigin(t *testing.T) *origin { return &origin{gittest.New(t)} }

func (o *origin) git(args ...string) string { return o.Run(args...) }

// commit makes build.sh the script given and commits it.
func (o *origin) commit(script string) string { return o.Commit("build.sh", script, "build: "+script) }

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newAgent follows repo (a path) and runs "sleep 600" as the program.
func newAgent(t *testing.T, repo, branch string, store deploylog.Store) (*Agent, *supervise.Supervisor) {
	t.Helper()
	r, err := git.New(git.Options{Repo: repo, Branch: branch, Workdir: t.TempDir(),
		Build: []string{"sh build.sh"}, BuildTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	sup := &supervise.Supervisor{Args: []string{"sleep", "600"}, StopTimeout: 5 * time.Second}
	t.Cleanup(func() { sup.Stop(context.Background()) })
	a, err := New(Options{Repo: r, Supervisor: sup, Store: store, Machine: "test-machine", Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	return a, sup
}

func TestAgentDeploysThenRefusesHangingBuild(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	first := o.commit("echo building; echo built > out\n")
	store := &deploylog.MemoryStore{}
	a, sup := newAgent(t, o.Dir, "main", store)
	ctx := context.Background()

	d, err := a.Check(ctx)
	if err != nil || d == nil {
		t.Fatalf("first Check = %+v, %v", d, err)
	}
	if d.Status != deploylog.StatusDone || d.Commit != first || !regexp.MustCompile(`^v0\.0\.0-\d{14}-`+first[:12]+`$`).MatchString(d.To) || d.Project != "origin" || d.Machine != "test-machine" {
		t.Errorf("first deployment = %+v", d)
	}
	if got := logtest.StepNames(d); got != "detect,fetch,build,start,health,done" {
		t.Errorf("steps = %s", got)
	}
	for _, s := range d.Steps {
		if s.To != d.To || s.Project != "origin" || s.Machine != "test-machine" || s.Start.IsZero() || s.End.IsZero() {
			t.Errorf("step %s lacks what it is part of: %+v", s.Step, s)
		}
	}
	if b, err := os.ReadFile(filepath.Join(sup.Workspace(), "out")); err != nil || string(b) != "built\n" {
		t.Errorf("the program does not run in the built workspace: %q %v", b, err)
	}
	pid := sup.PID()
	if pid == 0 || a.Status().Version != d.To {
		t.Fatalf("after the first deployment: pid %d, status %+v", pid, a.Status())
	}

	// Nothing new: no deployment.
	if d, err := a.Check(ctx); d != nil || err != nil {
		t.Errorf("Check with nothing new = %+v, %v", d, err)
	}

	// A build that hangs is killed and fails the deployment; the program
	// that serves is not touched.
	o.commit("echo hanging; sleep 600\n")
	d2, err := a.Check(ctx)
	if !errors.Is(err, git.ErrBuildTimeout) || d2 == nil || d2.Status != deploylog.StatusFailed || d2.From != d.To {
		t.Fatalf("hanging build: %+v, %v", d2, err)
	}
	if got := logtest.StepNames(d2); got != "detect,fetch,build,failed" {
		t.Errorf("hanging build steps = %s", got)
	}
	if b := d2.Steps[2]; b.Error == "" || !strings.Contains(b.Output, "hanging") {
		t.Errorf("build step = %+v", b)
	}
	if sup.PID() != pid {
		t.Errorf("the running program changed: pid %d, was %d", sup.PID(), pid)
	}
	all, _ := store.List(ctx, 0)
	if len(all) != 2 || all[1].Status != deploylog.StatusDone || all[0].Status != deploylog.StatusFailed {
		t.Errorf("log = %+v", all)
	}
}

func TestAgentBadRepoOrBranchLosesNothing(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	o.commit("true\n")
	ctx := context.Background()
	for name, tc := range map[string]struct {
		repo, branch string
		want         error
	}{
		"no repository": {filepath.Join(t.TempDir(), "gone"), "main", git.ErrNoRepo},
		"no branch":     {o.Dir, "nope", git.ErrNoBranch},
	} {
		db, err := deploylog.OpenSQLite(ctx, filepath.Join(t.TempDir(), "log.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		earlier := &deploylog.Deployment{Project: "app", To: "v1.0.0", Status: deploylog.StatusDone, Start: time.Now()}
		db.Create(ctx, earlier)
		a, _ := newAgent(t, tc.repo, tc.branch, db)
		d, err := a.Check(ctx)
		if !errors.Is(err, tc.want) || d != nil {
			t.Errorf("%s: Check = %+v, %v; want %v", name, d, err, tc.want)
		}
		if st := a.Status(); st.Error == "" {
			t.Errorf("%s: the status does not show the error", name)
		}
		if err := a.Run(ctx); !errors.Is(err, tc.want) {
			t.Errorf("%s: Run = %v, want %v at once", name, err, tc.want)
		}
		all, err := db.List(ctx, 0)
		if err != nil || len(all) != 1 || all[0].ID != earlier.ID {
			t.Errorf("%s: log after the failure = %+v, %v", name, all, err)
		}
	}
}

func TestAgentHandlerHook(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	o.commit("true\n")
	a, _ := newAgent(t, o.Dir, "main", nil)
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	resp, err := srv.Client().Post(srv.URL+"/hook", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("POST /hook = %s", resp.Status)
	}
	// The pages are the package server's, mounted by cmd/runner.
	if resp, err := srv.Client().Get(srv.URL + "/deployments"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /deployments from the agent's own handler: %v %v", resp.Status, err)
	}
}
