package update

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/molt-go/update/apply"
	"github.com/molt-go/update/updatetest"
)

// blockingApplier holds an update in its Apply until released, so a test
// can act while the updater holds its locks.
type blockingApplier struct {
	updatetest.Applier
	entered chan struct{}
	release chan struct{}
}

func newBlockingApplier() *blockingApplier {
	return &blockingApplier{entered: make(chan struct{}), release: make(chan struct{})}
}

func (b *blockingApplier) Apply(ctx context.Context, c apply.Change) error {
	close(b.entered)
	<-b.release
	return b.Applier.Apply(ctx, c)
}

// TestTwoUpdatersOfOneTarget: two updaters of one executable with
// different state directories never interleave: while one installs, the
// other gets ErrInProgress (from Check, Install and Forget) and installs
// nothing; it can start meanwhile (New does not fail).
func TestTwoUpdatersOfOneTarget(t *testing.T) {
	t.Parallel()
	src := newMem("1.1.0", []byte("new"))
	o := opts(t, src)
	ap := newBlockingApplier()
	o.Applier = ap
	a, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := a.Check(context.Background())
		done <- err
	}()
	select {
	case <-ap.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the first update never reached Apply")
	}

	ob := o
	ob.StateDir = filepath.Join(t.TempDir(), "other-state")
	bAp := &updatetest.Applier{}
	ob.Applier = bAp
	b, err := New(ob)
	if err != nil {
		t.Fatalf("New while another updater holds the target: %v", err)
	}
	if _, err := b.Check(context.Background()); !errors.Is(err, ErrInProgress) {
		t.Errorf("Check of the second updater: %v, want ErrInProgress", err)
	}
	if _, err := b.Install(context.Background(), "1.1.0"); !errors.Is(err, ErrInProgress) {
		t.Errorf("Install of the second updater: %v, want ErrInProgress", err)
	}
	if _, err := b.Forget("1.1.0"); !errors.Is(err, ErrInProgress) {
		t.Errorf("Forget of the second updater: %v, want ErrInProgress", err)
	}
	// The same state dir, from a third updater, is locked too.
	c, _ := New(o)
	if _, err := c.Find(context.Background()); !errors.Is(err, ErrInProgress) {
		t.Errorf("Find of an updater of the same state dir: %v, want ErrInProgress", err)
	}
	if n := len(bAp.Applied()); n != 0 {
		t.Fatalf("the second updater applied %d times", n)
	}
	if n := src.opens.Load(); n != 1 {
		t.Fatalf("downloaded %d times, want once by the first updater", n)
	}

	close(ap.release)
	if err := <-done; err != nil {
		t.Fatalf("the first update: %v", err)
	}
	if got := content(t, o.Target); got != "new" {
		t.Fatalf("target %q", got)
	}
	// Free again: the second updater may look.
	if _, err := b.Find(context.Background()); err != nil {
		t.Fatalf("Find after the first update ended: %v", err)
	}
}

// TestInProgressNamesTheHolder: ErrInProgress says who holds the lock.
func TestInProgressNamesTheHolder(t *testing.T) {
	t.Parallel()
	o := opts(t, newMem("1.1.0", []byte("new")))
	u, _ := New(o)
	holdLocks(t, o)
	_, err := u.Check(context.Background())
	var ue *Error
	if !errors.Is(err, ErrInProgress) || !errors.As(err, &ue) || ue.Step != StepFind || !contains(err.Error(), "pid") {
		t.Fatalf("Check: %v, want ErrInProgress naming the holder's pid", err)
	}
}

// TestTargetLockPath: one lock per real executable, whatever the path to
// it, outside the executable's folder.
func TestTargetLockPath(t *testing.T) {
	t.Parallel()
	o := opts(t, newMem("1.1.0", []byte("new")))
	dir := filepath.Dir(o.Target)
	same := []string{o.Target, filepath.Join(dir, ".", "app"), filepath.Join(dir, "..", "bin", "app")}
	want := targetLockPath(o.Target)
	for _, p := range same {
		if got := targetLockPath(p); got != want {
			t.Errorf("targetLockPath(%s) = %s, want %s", p, got, want)
		}
	}
	if targetLockPath(filepath.Join(dir, "other")) == want {
		t.Error("two executables share a lock")
	}
	if filepath.Dir(want) == dir {
		t.Error("the lock sits beside the program")
	}
}
