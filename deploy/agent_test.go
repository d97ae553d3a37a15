package deploy

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

	"github.com/molt-go/update/internal/gittest"
	"github.com/molt-go/update/restart"
	"github.com/molt-go/update/source/git"
)

// origin is a real git repository whose build is its build.sh.
type origin struct{ *gittest.Repo }

func newOrigin(t *testing.T) *origin { return &origin{gittest.New(t)} }

func (o *origin) git(args ...string) string { return o.Run(args...) }

// commit makes build.sh the script given and commits it.
func (o *origin) commit(script string) string { return o.Commit("build.sh", script, "build: "+script) }

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newAgent follows repo (a path) and runs "sleep 600" as the program.
func newAgent(t *testing.T, repo, branch string, store Store) (*Agent, *restart.Supervise) {
	t.Helper()
	r, err := git.New(git.Options{Repo: repo, Branch: branch, Workdir: t.TempDir(),
		Build: []string{"sh build.sh"}, BuildTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	sup := &restart.Supervise{Args: []string{"sleep", "600"}, StopTimeout: 5 * time.Second}
	t.Cleanup(func() { sup.Stop(context.Background()) })
	a, err := NewAgent(AgentOptions{Repo: r, Supervisor: sup, Store: store, Machine: "test-machine", Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	return a, sup
}

func stepNames(d *Deployment) string {
	var n []string
	for _, s := range d.Steps {
		n = append(n, string(s.Step))
	}
	return strings.Join(n, ",")
}

func TestAgentDeploysThenRefusesHangingBuild(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	first := o.commit("echo building; echo built > out\n")
	store := &MemoryStore{}
	a, sup := newAgent(t, o.Dir, "main", store)
	ctx := context.Background()

	d, err := a.Check(ctx)
	if err != nil || d == nil {
		t.Fatalf("first Check = %+v, %v", d, err)
	}
	if d.Status != StatusDone || d.Commit != first || !regexp.MustCompile(`^v0\.0\.0-\d{14}-`+first[:12]+`$`).MatchString(d.To) || d.Project != "origin" || d.Machine != "test-machine" {
		t.Errorf("first deployment = %+v", d)
	}
	if got := stepNames(d); got != "detect,fetch,build,start,health,done" {
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
	if !errors.Is(err, git.ErrBuildTimeout) || d2 == nil || d2.Status != StatusFailed || d2.From != d.To {
		t.Fatalf("hanging build: %+v, %v", d2, err)
	}
	if got := stepNames(d2); got != "detect,fetch,build,failed" {
		t.Errorf("hanging build steps = %s", got)
	}
	if b := d2.Steps[2]; b.Error == "" || !strings.Contains(b.Output, "hanging") {
		t.Errorf("build step = %+v", b)
	}
	if sup.PID() != pid {
		t.Errorf("the running program changed: pid %d, was %d", sup.PID(), pid)
	}
	all, _ := store.List(ctx, 0)
	if len(all) != 2 || all[1].Status != StatusDone || all[0].Status != StatusFailed {
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
		db, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "log.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		earlier := &Deployment{Project: "app", To: "v1.0.0", Status: StatusDone, Start: time.Now()}
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
	resp, err = srv.Client().Get(srv.URL + "/deployments")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "No deployments yet") || !strings.Contains(string(b), `id="status"`) {
		t.Errorf("/deployments = %s\n%s", resp.Status, b)
	}
}
