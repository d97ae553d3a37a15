package update

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// ProbeEnv is the environment variable with which the updater starts a
// staged binary before installing it. Its value is the path of a file: a
// program that embeds the updater answers from New (or AnswerProbe) by
// writing its version there and exiting, before doing any work. Because
// the answer has a channel of its own, whatever the program prints first
// (a banner, a log line) does not matter.
//
// A binary that answers with another version, or cannot be executed here
// (another architecture, a truncated file), fails with ErrProbe and the
// release is marked bad. One that never answers (it does not call New
// first, or it hangs) fails with ErrProbeNoAnswer and is not marked bad:
// a fixed build of the same version may come.
const ProbeEnv = "MOLT_PROBE"

// probeTimeout is how long a staged binary has to answer: long enough for a
// cold start on a busy machine, short enough not to stall an update.
const probeTimeout = 10 * time.Second

// probeWaitDelay is how long the probe waits, after killing the child and
// what it started (its process group, or its job object on Windows) at the
// timeout, for it to be gone.
const probeWaitDelay = 2 * time.Second

// maxProbeAnswer bounds what is read of the answer file: a version.
const maxProbeAnswer = 256

// answerProbe makes a program started by probe write its version to the
// answer file and exit.
func answerProbe(version string) {
	path := os.Getenv(ProbeEnv)
	if path == "" {
		return
	}
	if version == "" {
		if v, err := (&Options{}).mainVersion(); err == nil {
			version = v
		}
	}
	code := 0
	if err := os.WriteFile(path, []byte(version+"\n"), 0o600); err != nil {
		fmt.Fprintf(os.Stderr, "update: answering the probe: %v\n", err)
		code = 1
	}
	os.Exit(code)
}

// probe runs the staged binary with ProbeEnv set and compares the version
// it writes with the one the metadata promised. It is skipped when the
// asset is for another platform than this one (it cannot run here) or when
// SkipProbe is set.
func (u *Updater) probe(ctx context.Context, path string, c *candidate) error {
	if err := makeExecutable(path); err != nil {
		return u.begin(StepProbe, c.version.Original()).end(err)
	}
	if u.o.SkipProbe || !runsHere(u.o.OS, u.o.Arch) {
		return nil
	}
	st := u.begin(StepProbe, c.version.Original())
	return st.end(runProbe(ctx, path, u.o.StateDir, c.version.Original()))
}

// runProbe runs path and checks its answer against want.
func runProbe(ctx context.Context, path, dir, want string) error {
	answer, err := os.CreateTemp(dir, ".probe-")
	if err != nil {
		return fmt.Errorf("probe: answer file: %w", err)
	}
	answer.Close()
	defer os.Remove(answer.Name())

	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	var runErr error
	for attempt, wait := 1, 5*time.Millisecond; ; attempt, wait = attempt+1, wait*2 {
		cmd := exec.CommandContext(ctx, path)
		cmd.Env = append(os.Environ(), ProbeEnv+"="+answer.Name())
		// Output is not read: the answer comes through the file. A child (or
		// a grandchild it left) holding stdout can therefore not hold the
		// probe.
		cmd.Stdout, cmd.Stderr = nil, nil
		cmd.WaitDelay = probeWaitDelay
		runErr = runGroup(cmd)
		// "Text file busy": a child that another goroutine forked while the
		// staged file was open for writing still holds it, for the few
		// milliseconds until its own exec. Not a verdict on the binary.
		if !textBusy(runErr) || attempt == 6 || ctx.Err() != nil {
			break
		}
		time.Sleep(wait)
	}

	got, rerr := readAnswer(answer.Name())
	switch {
	case rerr != nil:
		return fmt.Errorf("probe: reading the answer: %w", rerr)
	case got != "":
		if !sameVersion(got, want) {
			return fmt.Errorf("%w: it says %q, the metadata promised %s", ErrProbe, firstLine(got), want)
		}
		return nil
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%w: nothing within %v (it was killed)", ErrProbeNoAnswer, probeTimeout)
	case ctx.Err() != nil:
		return ctx.Err()
	case textBusy(runErr):
		return fmt.Errorf("%w: the staged file stayed busy (%w)", ErrProbeNoAnswer, runErr)
	case cannotExecute(runErr):
		return fmt.Errorf("%w: it cannot run here: %w", ErrProbe, runErr)
	case runErr != nil:
		return fmt.Errorf("%w: it exited without answering: %w", ErrProbeNoAnswer, runErr)
	}
	return fmt.Errorf("%w: it exited without answering", ErrProbeNoAnswer)
}

// cannotExecute reports whether the system refused to start the file at
// all (a wrong architecture or format, a truncated binary): a definite
// verdict, unlike a program that ran and said nothing.
func cannotExecute(err error) bool {
	var pe *os.PathError
	var ee *exec.ExitError
	return err != nil && errors.As(err, &pe) && !errors.As(err, &ee)
}

func readAnswer(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxProbeAnswer))
	return strings.TrimSpace(string(bytes.ToValidUTF8(b, nil))), err
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return s
}

// AnswerProbe answers the updater's probe of a staged binary: when the
// program was started with ProbeEnv set, it writes version to the answer
// file and exits. New calls it; call it first in main if the program may
// exit or do lasting work before it calls New.
func AnswerProbe(version string) { answerProbe(version) }
