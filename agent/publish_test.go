package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/molt-go/update/agent/deploylog"
	"github.com/molt-go/update/agent/deploylog/logtest"
	"github.com/molt-go/update/agent/git"
	"github.com/molt-go/update/agent/supervise"
)

// fakePublisher releases commit n of the branch as 1.0.n, remembering
// what it published as a feed would.
type fakePublisher struct {
	mu        sync.Mutex
	versions  map[string]string // by hash
	published []string
	built     []string
	failNext  error // the next Publish fails with it
	calls     []string
}

func (f *fakePublisher) Prepare(_ context.Context, c git.Commit) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "prepare")
	if f.versions == nil {
		f.versions = map[string]string{}
	}
	v, ok := f.versions[c.Hash]
	if !ok {
		v = fmt.Sprintf("1.0.%d", len(f.versions)+1)
		f.versions[c.Hash] = v
	}
	if slices.Contains(f.published, v) {
		return v, fmt.Errorf("%w: %s is in the feed already", ErrSkip, v)
	}
	return v, nil
}

func (f *fakePublisher) Build(_ context.Context, ws, version string, out io.Writer) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "build")
	// The build commands ran before: their output is in the workspace.
	if _, err := os.Stat(filepath.Join(ws, "out")); err != nil {
		return fmt.Errorf("the release build ran before the build commands: %w", err)
	}
	fmt.Fprintf(out, "release build of %s\n", version)
	f.built = append(f.built, version)
	return nil
}

func (f *fakePublisher) Publish(_ context.Context, version string, out io.Writer) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "publish")
	if err := f.failNext; err != nil {
		f.failNext = nil
		return err
	}
	fmt.Fprintf(out, "published %s\n", version)
	f.published = append(f.published, version)
	return nil
}

func (f *fakePublisher) state() (published, built, calls []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.published), slices.Clone(f.built), slices.Clone(f.calls)
}

func newPublishingAgent(t *testing.T, repo string, pub Publisher, sup *supervise.Supervisor, store deploylog.Store) *Agent {
	t.Helper()
	r, err := git.New(git.Options{Repo: repo, Workdir: t.TempDir(), Build: []string{"sh build.sh"}, BuildTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Options{Repo: r, Publisher: pub, Supervisor: sup, Store: store, Machine: "builder", Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestAgentPublishes: a publishing agent (no program to run) publishes
// each commit that builds, under the publisher's version; a failed build
// publishes nothing; a failed publish is tried again; a restarted agent
// logs nothing for a head the feed has already.
func TestAgentPublishes(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	o.commit("echo built > out\n")
	store := &deploylog.MemoryStore{}
	pub := &fakePublisher{}
	a := newPublishingAgent(t, o.Dir, pub, nil, store)
	ctx := context.Background()

	d, err := a.Check(ctx)
	if err != nil || d == nil || d.Status != deploylog.StatusDone || d.To != "1.0.1" {
		t.Fatalf("first Check = %+v, %v", d, err)
	}
	if got := logtest.StepNames(d); got != "detect,fetch,build,publish,done" {
		t.Errorf("steps = %s", got)
	}
	for _, s := range d.Steps {
		if s.To != "1.0.1" {
			t.Errorf("step %s is of version %q, want the release's 1.0.1", s.Step, s.To)
		}
	}
	if published, built, _ := pub.state(); !slices.Equal(published, []string{"1.0.1"}) || !slices.Equal(built, []string{"1.0.1"}) {
		t.Fatalf("published %v, built %v", published, built)
	}
	if d, err := a.Check(ctx); d != nil || err != nil {
		t.Errorf("Check with nothing new = %+v, %v", d, err)
	}

	// A restarted agent (a new one, same feed) finds the head published
	// and records nothing.
	a2 := newPublishingAgent(t, o.Dir, pub, nil, store)
	if d, err := a2.Check(ctx); d != nil || err != nil {
		t.Errorf("Check of a restarted agent = %+v, %v; want nothing (published already)", d, err)
	}
	if all, _ := store.List(ctx, 0); len(all) != 1 {
		t.Errorf("%d deployments after the restart, want 1", len(all))
	}

	// A commit that does not build: nothing reaches the publisher past
	// Prepare.
	o.commit("echo 'does not compile' >&2; exit 1\n")
	_, _, before := pub.state()
	d, err = a2.Check(ctx)
	if !errors.Is(err, git.ErrBuildFailed) || d == nil || d.Status != deploylog.StatusFailed {
		t.Fatalf("failed build: %+v, %v", d, err)
	}
	if got := logtest.StepNames(d); got != "detect,fetch,build,failed" {
		t.Errorf("failed build steps = %s", got)
	}
	if _, _, after := pub.state(); slices.Contains(after[len(before):], "build") || slices.Contains(after[len(before):], "publish") {
		t.Errorf("after a failed build the publisher was asked to %v", after[len(before):])
	}

	// A publish that fails fails the deployment and is tried again at
	// the next check, though the branch did not move.
	o.commit("echo built again > out\n")
	pub.mu.Lock()
	pub.failNext = errors.New("the bucket is down")
	pub.mu.Unlock()
	d, err = a2.Check(ctx)
	if err == nil || d == nil || d.Status != deploylog.StatusFailed {
		t.Fatalf("failed publish: %+v, %v", d, err)
	}
	if got := logtest.StepNames(d); got != "detect,fetch,build,publish,failed" {
		t.Errorf("failed publish steps = %s", got)
	}
	if p := d.Steps[3]; p.Error == "" {
		t.Errorf("the publish step does not carry its error: %+v", p)
	}
	d, err = a2.Check(ctx)
	if err != nil || d == nil || d.Status != deploylog.StatusDone || d.To != "1.0.3" {
		t.Fatalf("retry of the publish = %+v, %v", d, err)
	}
	if published, _, _ := pub.state(); !slices.Equal(published, []string{"1.0.1", "1.0.3"}) {
		t.Errorf("published %v, want 1.0.1 and 1.0.3", published)
	}
}

// TestAgentRunsThenPublishes: with a program to run too, a release is
// published after the new version is healthy here, never before.
func TestAgentRunsThenPublishes(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	o.commit("echo built > out\n")
	sup := &supervise.Supervisor{Args: []string{"sleep", "600"}, StopTimeout: 5 * time.Second}
	t.Cleanup(func() { sup.Stop(context.Background()) })
	pub := &fakePublisher{}
	a := newPublishingAgent(t, o.Dir, pub, sup, &deploylog.MemoryStore{})
	d, err := a.Check(context.Background())
	if err != nil || d == nil || d.Status != deploylog.StatusDone || sup.PID() == 0 {
		t.Fatalf("Check = %+v, %v (pid %d)", d, err, sup.PID())
	}
	if got := logtest.StepNames(d); got != "detect,fetch,build,start,health,publish,done" {
		t.Errorf("steps = %s, want the publish after the health check", got)
	}
	if _, _, calls := pub.state(); !slices.Equal(calls, []string{"prepare", "build", "publish"}) {
		t.Errorf("publisher calls = %v", calls)
	}
}

func TestAgentNeedsSupervisorOrPublisher(t *testing.T) {
	t.Parallel()
	r, err := git.New(git.Options{Repo: "unused", Workdir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{Repo: r}); err == nil {
		t.Error("New with neither a Supervisor nor a Publisher succeeded")
	}
}
