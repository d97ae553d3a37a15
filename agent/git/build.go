package git

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"
)

// errBuildDeadline is the cause of the build context when BuildTimeout
// passes, which tells a timeout from the caller's own cancellation.
var errBuildDeadline = errors.New("build deadline")

// Build runs the build commands in the workspace dir, one after the other,
// writing their standard output and error to out (which may be nil). The
// first command that fails stops the build with an error wrapping
// ErrBuildFailed. When the commands together run longer than BuildTimeout,
// the running one is killed with its whole process group (so a compiler or
// test a script started dies too) and the error wraps ErrBuildTimeout.
func (r *Repo) Build(ctx context.Context, dir string, out io.Writer) error {
	if out == nil {
		out = io.Discard
	}
	ctx, cancel := context.WithTimeoutCause(ctx, r.o.BuildTimeout, errBuildDeadline)
	defer cancel()
	for _, line := range r.o.Build {
		fmt.Fprintf(out, "$ %s\n", line)
		cmd := shellCommand(ctx, line)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), r.o.BuildEnv...)
		cmd.Stdout = out
		cmd.Stderr = out
		// A grandchild that keeps the output pipe open must not keep
		// Wait from returning once the group is killed.
		cmd.WaitDelay = 2 * time.Second
		err := cmd.Run()
		if context.Cause(ctx) == errBuildDeadline {
			fmt.Fprintf(out, "killed after %v\n", r.o.BuildTimeout)
			return fmt.Errorf("%w: %q ran past %v", ErrBuildTimeout, line, r.o.BuildTimeout)
		}
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("git: build %q: %w", line, ctx.Err())
			}
			fmt.Fprintf(out, "%v\n", err)
			return fmt.Errorf("%w: %q: %w", ErrBuildFailed, line, err)
		}
	}
	return nil
}

// shellCommand returns the command that runs line through the platform's
// shell, in a process group of its own that is killed when ctx ends.
func shellCommand(ctx context.Context, line string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, shell[0], append(shell[1:len(shell):len(shell)], line)...)
	ownGroup(cmd)
	return cmd
}
