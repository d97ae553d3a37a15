//go:build unix

package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	update "github.com/molt-go/update"
	"github.com/molt-go/update/apply"
	"github.com/molt-go/update/restart"
	"github.com/molt-go/update/source/feed"
	"github.com/molt-go/update/verify"
)

// The rollback crash test re-executes the test binary as a program that
// embeds the updater and dies by SIGKILL at a chosen point of a rollback.
const (
	crashRoleEnv   = "MOLT_E2E_ROLE"   // "rollback" makes the test binary the crashing program
	crashPointEnv  = "MOLT_E2E_POINT"  // where to die: before-revert, after-revert, during-revert
	crashTargetEnv = "MOLT_E2E_TARGET" // the installed daemon
	crashStateEnv  = "MOLT_E2E_STATE"  // the updater's state dir
	crashFeedEnv   = "MOLT_E2E_FEED"   // the feed URL
	crashKeyEnv    = "MOLT_E2E_KEY"    // the feed's public key file
)

func init() {
	if os.Getenv(crashRoleEnv) != "rollback" {
		return
	}
	time.AfterFunc(time.Minute, func() { os.Exit(4) }) // a safety net for a forgotten helper
	err := rollbackAndDie()
	fmt.Fprintln(os.Stderr, "rollback helper: not killed:", err)
	os.Exit(3)
}

// rollbackAndDie runs the updater as the pending version 1.1.0 with a
// confirm deadline already past, so that New rolls it back, through an
// Applier that kills the process at the chosen point of the rollback.
func rollbackAndDie() error {
	pem, err := os.ReadFile(os.Getenv(crashKeyEnv))
	if err != nil {
		return err
	}
	keys, err := verify.Signature(pem)
	if err != nil {
		return err
	}
	_, err = update.New(update.Options{
		App: "daemon", Version: "1.1.0",
		Source:         feed.New(os.Getenv(crashFeedEnv)),
		Verifier:       keys,
		Target:         os.Getenv(crashTargetEnv),
		StateDir:       os.Getenv(crashStateEnv),
		ConfirmTimeout: time.Nanosecond,
		Restarter:      restart.None{},
		Applier:        &killingApplier{Applier: &apply.Replace{}, point: os.Getenv(crashPointEnv)},
		Logger:         quietLogger(),
	})
	return err
}

// killingApplier kills its process with SIGKILL around Revert.
type killingApplier struct {
	apply.Applier
	point string
}

func (k *killingApplier) Revert(ctx context.Context, target string) error {
	die := func() {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}
	switch k.point {
	case "before-revert":
		die()
	case "during-revert":
		go die()
	}
	err := k.Applier.Revert(ctx, target)
	if k.point == "after-revert" || k.point == "during-revert" {
		die()
	}
	return err
}

// TestDaemonRollbackSurvivesKill installs daemon 1.1.0 as pending, then
// rolls it back in a process that is killed with SIGKILL before, during or
// after the binary is put back. Starting the daemon that is then on disk
// must finish the rollback: 1.0.0 serves from the old binary, and 1.1.0 is
// never downloaded again.
func TestDaemonRollbackSurvivesKill(t *testing.T) {
	t.Parallel()
	points := []string{"before-revert", "after-revert"}
	for range 4 {
		points = append(points, "during-revert")
	}
	prebuild(t, "1.0.0", "1.1.0")
	for i, point := range points {
		t.Run(fmt.Sprintf("%d-%s", i, point), func(t *testing.T) {
			t.Parallel()
			w := newDaemonWorld(t, "1.0.0")
			w.publish("1.1.0", "", "")
			w.installPending("1.1.0")

			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(),
				crashRoleEnv+"=rollback", crashPointEnv+"="+point,
				crashTargetEnv+"="+w.target, crashStateEnv+"="+w.state,
				crashFeedEnv+"="+w.http.URL+"/daemon/", crashKeyEnv+"="+w.pub)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("the rollback helper was not killed: %v\n%s", err, out)
			}
			onDisk := versionOf(t, w.target)
			t.Logf("killed at %s with %s on disk", point, onDisk)

			// The next start, whichever version is on disk, finishes it.
			d := w.start("-interval", "200ms", "-probation", "300ms")
			waitUntil(t, "GET / to answer 1.0.0", func() bool { return d.get() == "daemon 1.0.0\n" })
			w.waitChecks(5)
			if n := w.downloaded("1.1.0"); n != 1 {
				t.Errorf("1.1.0 downloaded %d times, want once (by the install)", n)
			}
			if got := d.get(); got != "daemon 1.0.0\n" {
				t.Errorf("after the restart with %s on disk GET / answers %q, want daemon 1.0.0", onDisk, got)
			}
			w.installedIs("1.0.0")
			if onDisk == "1.1.0" && !d.logged("version=1.1.0", "step=rollback") {
				t.Errorf("1.1.0 was on disk but did not finish the rollback itself")
			}
		})
	}
}

// installPending installs version over the daemon with the updater, as
// the daemon would, without starting it: the release is then pending.
func (w *daemonWorld) installPending(version string) {
	w.t.Helper()
	pem, err := os.ReadFile(w.pub)
	if err != nil {
		w.t.Fatal(err)
	}
	keys, err := verify.Signature(pem)
	if err != nil {
		w.t.Fatal(err)
	}
	u, err := update.New(update.Options{
		App: "daemon", Version: "1.0.0",
		Source:    feed.New(w.http.URL + "/daemon/"),
		Verifier:  keys,
		Target:    w.target,
		StateDir:  w.state,
		Restarter: restart.None{},
		Logger:    quietLogger(),
	})
	if err != nil {
		w.t.Fatal(err)
	}
	res, err := u.Check(context.Background())
	if err != nil || !res.Updated || res.To != version {
		w.t.Fatalf("installing %s: %+v, %v", version, res, err)
	}
}
