package restart

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
)

// restart runs exe as a child and exits with its status once it ends: a
// running executable cannot be replaced in-process on windows. The child's
// lifetime is not bound to ctx, since by then it is the program. The old
// process's other goroutines go on running while it waits.
func (e Exec) restart(ctx context.Context, exe string, args, env []string) error {
	// A Cmd of our own rather than exec.Command, which would look a bare
	// name up in PATH.
	cmd := &exec.Cmd{Path: exe, Args: args, Env: env,
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	code := 0
	if err := cmd.Wait(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			code = 1 // the child ran but could not be waited for
		} else {
			code = ee.ExitCode()
		}
	}
	exit := e.exit
	if exit == nil {
		exit = os.Exit
	}
	exit(code)
	return nil
}
