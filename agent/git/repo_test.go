package git

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/molt-go/update/internal/gittest"
	"github.com/molt-go/update/source"
)

// testRepo is a real repository with one commit on main.
type testRepo struct{ *gittest.Repo }

func newTestRepo(t *testing.T) *testRepo {
	r := &testRepo{gittest.New(t)}
	r.commit("hello.txt", "hello\n")
	return r
}

func (r *testRepo) git(args ...string) string { return r.Run(args...) }

func (r *testRepo) commit(name, text string) string { return r.Commit(name, text, "change "+name) }

func newRepo(t *testing.T, o Options) *Repo {
	t.Helper()
	if o.Workdir == "" {
		o.Workdir = t.TempDir()
	}
	r, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var pseudo = regexp.MustCompile(`^v0\.0\.0-\d{14}-[0-9a-f]{12}$`)

func TestHeadFetchCheckoutBuild(t *testing.T) {
	t.Parallel()
	origin := newTestRepo(t)
	hash := origin.git("rev-parse", "HEAD")
	r := newRepo(t, Options{Repo: origin.Dir, Build: []string{"cat hello.txt > built.txt", "echo built"}})
	ctx := context.Background()

	head, err := r.Head(ctx)
	if err != nil || head != hash {
		t.Fatalf("Head = %q, %v; want %q", head, err, hash)
	}
	c, err := r.Fetch(ctx, head, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Hash != hash || !pseudo.MatchString(c.Version) || !strings.HasSuffix(c.Version, hash[:12]) || c.Subject != "change hello.txt" || c.Time.IsZero() {
		t.Errorf("Fetch = %+v", c)
	}
	ws, err := r.Checkout(ctx, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := r.Build(ctx, ws, &out); err != nil {
		t.Fatalf("Build: %v\n%s", err, &out)
	}
	if b, _ := os.ReadFile(filepath.Join(ws, "built.txt")); string(b) != "hello\n" {
		t.Errorf("the build did not run in the workspace: built.txt = %q", b)
	}
	if !strings.Contains(out.String(), "$ echo built\nbuilt\n") {
		t.Errorf("build output not captured: %q", &out)
	}

	// A tagged second commit gets its tag as version, in a new workspace.
	second := origin.commit("hello.txt", "hello again\n")
	origin.git("tag", "v1.4.0")
	if head, _ = r.Head(ctx); head != second {
		t.Fatalf("Head after a commit = %q, want %q", head, second)
	}
	c2, err := r.Fetch(ctx, head, nil)
	if err != nil || c2.Version != "v1.4.0" {
		t.Fatalf("tagged Fetch = %+v, %v", c2, err)
	}
	ws2, err := r.Checkout(ctx, c2, nil)
	if err != nil || ws2 == ws {
		t.Fatalf("second Checkout = %q, %v (first %q)", ws2, err, ws)
	}
	if b, _ := os.ReadFile(filepath.Join(ws2, "hello.txt")); string(b) != "hello again\n" {
		t.Errorf("second workspace has %q", b)
	}
	// A later untagged commit builds on the tag.
	third := origin.commit("other.txt", "x")
	c3, err := r.Fetch(ctx, third, nil)
	if err != nil || !strings.HasPrefix(c3.Version, "v1.4.1-0.") {
		t.Errorf("after the tag, Fetch = %+v, %v", c3, err)
	}
}

func TestMissingRepo(t *testing.T) {
	t.Parallel()
	r := newRepo(t, Options{Repo: filepath.Join(t.TempDir(), "nothing-here")})
	_, err := r.Head(context.Background())
	if !errors.Is(err, ErrNoRepo) || !errors.Is(err, source.ErrNotFound) {
		t.Fatalf("Head of a missing repository = %v, want ErrNoRepo", err)
	}
	if _, err := New(Options{}); !errors.Is(err, ErrNoRepo) {
		t.Errorf("New without a repository = %v, want ErrNoRepo", err)
	}
}

func TestMissingBranch(t *testing.T) {
	t.Parallel()
	origin := newTestRepo(t)
	r := newRepo(t, Options{Repo: origin.Dir, Branch: "no-such-branch"})
	_, err := r.Head(context.Background())
	if !errors.Is(err, ErrNoBranch) || !errors.Is(err, source.ErrNotFound) || errors.Is(err, ErrNoRepo) {
		t.Fatalf("Head of a missing branch = %v, want ErrNoBranch", err)
	}
	if !strings.Contains(err.Error(), "no-such-branch") {
		t.Errorf("the error does not name the branch: %v", err)
	}
}

func TestBuildFails(t *testing.T) {
	t.Parallel()
	r := newRepo(t, Options{Repo: "unused", Build: []string{"echo compiling", "echo 'syntax error' >&2; exit 2", "touch never"}})
	dir := t.TempDir()
	var out bytes.Buffer
	err := r.Build(context.Background(), dir, &out)
	if !errors.Is(err, ErrBuildFailed) || errors.Is(err, ErrBuildTimeout) {
		t.Fatalf("Build = %v, want ErrBuildFailed", err)
	}
	if !strings.Contains(out.String(), "syntax error") {
		t.Errorf("the failing command's output is missing: %q", &out)
	}
	if _, err := os.Stat(filepath.Join(dir, "never")); err == nil {
		t.Error("a command after the failed one ran")
	}
}

func TestBuildCancelledIsNotTimeout(t *testing.T) {
	t.Parallel()
	r := newRepo(t, Options{Repo: "unused", Build: []string{"sleep 600"}})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	err := r.Build(ctx, t.TempDir(), nil)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrBuildTimeout) {
		t.Fatalf("Build = %v, want context.Canceled", err)
	}
}

func TestHookTriggersWatch(t *testing.T) {
	t.Parallel()
	r := newRepo(t, Options{Repo: "unused"})
	srv := httptest.NewServer(r.Hook())
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var checks atomic.Int32
	checked := make(chan struct{}, 10)
	done := make(chan struct{})
	go func() {
		r.Watch(ctx, time.Hour, func(context.Context) {
			checks.Add(1)
			checked <- struct{}{}
		})
		close(done)
	}()
	<-checked // the check at start
	resp, err := srv.Client().Post(srv.URL, "application/json", strings.NewReader(`{"ref":"refs/heads/main"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("POST = %s, want 202", resp.Status)
	}
	<-checked // the hook's check, long before the hour
	resp, err = srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET = %s, want 405", resp.Status)
	}
	cancel()
	<-done
	if n := checks.Load(); n != 2 {
		t.Errorf("%d checks, want 2 (start and hook)", n)
	}
}
