package update

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// ProbeEnv is the environment variable with which the updater starts a
// staged binary before installing it. A program that embeds the updater
// answers it from New: it prints its version and exits, before doing any
// work. A wrong architecture, a truncated build or a binary without the
// updater fails the probe, and the update is refused.
const ProbeEnv = "MOLT_PROBE"

// probeTimeout is how long a staged binary has to answer: long enough for a
// cold start on a busy machine, short enough not to stall an update.
const probeTimeout = 10 * time.Second

// answerProbe makes a program started by probe print its version and exit.
func answerProbe(version string) {
	if os.Getenv(ProbeEnv) == "" {
		return
	}
	fmt.Fprintln(os.Stdout, version)
	os.Exit(0)
}

// probe runs the staged binary with ProbeEnv set and compares the version
// it prints with the one the metadata promised. It is skipped when the
// asset is for another platform than this one (it cannot run here) or when
// SkipProbe is set.
func (u *Updater) probe(ctx context.Context, path string, c *candidate) error {
	if err := makeExecutable(path); err != nil {
		return u.begin(StepProbe, c.version.Original()).end(err)
	}
	if u.o.SkipProbe || u.o.OS != hostOS() || !archMatches(u.o.Arch, hostArch()) {
		return nil
	}
	st := u.begin(StepProbe, c.version.Original())
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path)
	cmd.Env = append(os.Environ(), ProbeEnv+"=1")
	var out bytes.Buffer
	cmd.Stdout = &limitedBuffer{buf: &out, max: 4096}
	err := cmd.Run()
	if ctx.Err() != nil {
		return st.end(fmt.Errorf("%w: no answer within %v", ErrProbe, probeTimeout))
	}
	if err != nil {
		return st.end(fmt.Errorf("%w: %w", ErrProbe, err))
	}
	got := strings.TrimSpace(out.String())
	if !sameVersion(got, c.version.Original()) {
		return st.end(fmt.Errorf("%w: it says %q, the metadata promised %s", ErrProbe, firstLine(got), c.version.Original()))
	}
	return st.end(nil)
}

type limitedBuffer struct {
	buf *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return s
}

func hostOS() string   { return runtime.GOOS }
func hostArch() string { return runtime.GOARCH }

// AnswerProbe answers the updater's probe of a staged binary: when the
// program was started with ProbeEnv set, it prints version and exits. New
// calls it; call it first in main if the program may exit or do work
// before it calls New.
func AnswerProbe(version string) { answerProbe(version) }
