//go:build unix

package restart

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// Retrying exec on ETXTBSY: the kernel refuses to run a file that some
// process still has open for writing. Just after an update that process
// can be ourselves: a child forked by another goroutine (os/exec) while the
// new file was being written inherits that descriptor and holds it until its
// own exec, a few milliseconds later. Waiting briefly is enough; a file
// that stays open for writing is a real error.
const (
	execAttempts     = 6
	execFirstBackoff = 5 * time.Millisecond // doubled each time: 155ms in all
)

func (e Exec) restart(ctx context.Context, exe string, args, env []string) error {
	execve := e.exec
	if execve == nil {
		execve = syscall.Exec
	}
	backoff := execFirstBackoff
	for attempt := 1; ; attempt++ {
		err := execve(exe, args, env)
		if err == nil {
			// Only a fake exec returns without error.
			return nil
		}
		err = &os.PathError{Op: "exec", Path: exe, Err: err}
		if !errors.Is(err, syscall.ETXTBSY) || attempt == execAttempts {
			return fmt.Errorf("restart: %w", err)
		}
		if e.retried != nil {
			e.retried(attempt, err)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("restart: %w (while retrying after %w)", ctx.Err(), err)
		case <-t.C:
		}
		backoff *= 2
	}
}
