package git

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Command runs the program args[0] with args[1:] in the workspace dir as a
// build command runs: with the process's environment plus BuildEnv plus
// env (later entries win), its output to out (which may be nil), and, when
// ctx ends, killed with every process it started (a compiler's children
// too). It bounds nothing by itself: the caller's ctx does. A command that
// fails is an error wrapping ErrBuildFailed.
func (r *Repo) Command(ctx context.Context, dir string, env []string, out io.Writer, args ...string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: no command", ErrBuildFailed)
	}
	if out == nil {
		out = io.Discard
	}
	fmt.Fprintf(out, "$ %s\n", strings.Join(append(env[:len(env):len(env)], args...), " "))
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	ownGroup(cmd)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), r.o.BuildEnv...), env...)
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("git: %s: %w", args[0], context.Cause(ctx))
		}
		fmt.Fprintf(out, "%v\n", err)
		return fmt.Errorf("%w: %s: %w", ErrBuildFailed, strings.Join(args, " "), err)
	}
	return nil
}
