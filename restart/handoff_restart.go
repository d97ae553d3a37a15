package restart

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// This file is the old process's side of a handoff: starting the new
// process with the listeners and waiting for its verdict.

// handoffFile is one listener to pass, in the order of the new process's
// descriptors.
type handoffFile struct {
	key  handoffKey
	file *os.File
}

func (h *Handoff) beginRestart() ([]handoffFile, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.stopped:
		return nil, ErrStopped
	case h.handedOff:
		return nil, ErrHandedOff
	case h.restarting:
		return nil, ErrInProgress
	}
	h.restarting = true
	h.running.Add(1)
	files := make([]handoffFile, 0, len(h.passing))
	for key, f := range h.passing {
		files = append(files, handoffFile{key, f})
	}
	slices.SortFunc(files, func(a, b handoffFile) int { return strings.Compare(a.key.String(), b.key.String()) })
	return files, nil
}

func (h *Handoff) endRestart(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.restarting = false
	if err != nil {
		return
	}
	h.handedOff = true
	close(h.exit)
	// The new process has its own copies now.
	for _, f := range h.passing {
		f.Close()
	}
	clear(h.passing)
}

// handOff starts the new process and waits for its verdict: Ready, then the
// end of the probation if there is one.
func (h *Handoff) handOff(ctx context.Context, exe string, files []handoffFile) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrNotReady, err)
	}
	c, err := h.startChild(exe, files)
	if err != nil {
		return err
	}
	if err := c.waitReady(ctx, h.opts.ReadyTimeout, h.stop); err != nil {
		c.closeGo()
		return err
	}
	if h.opts.Probation <= 0 {
		return nil
	}
	return c.probation(ctx, h.opts.Probation, h.stop)
}

// handoffChild is a new process started by Restart, seen from the old one.
type handoffChild struct {
	cmd    *exec.Cmd
	pid    int
	log    *slog.Logger
	ready  chan bool  // the new process wrote on the ready pipe (true) or closed it (false)
	exited chan error // its exit status, once
	goW    *os.File   // write end of the go pipe; nil without probation

	gone    bool  // exited has been received
	exitErr error // what it said
}

// startChild starts exe with the listeners, the ready pipe and, on
// probation, the go pipe.
func (h *Handoff) startChild(exe string, files []handoffFile) (*handoffChild, error) {
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("restart: ready pipe: %w", err)
	}
	// The new process sees ExtraFiles[i] as descriptor 3+i.
	m := handoffMessage{PPID: os.Getpid(), Ready: 3}
	extra := []*os.File{readyW}
	var goR, goW *os.File
	if h.opts.Probation > 0 {
		if goR, goW, err = os.Pipe(); err != nil {
			readyR.Close()
			readyW.Close()
			return nil, fmt.Errorf("restart: go pipe: %w", err)
		}
		m.Go = 3 + len(extra)
		extra = append(extra, goR)
	}
	for _, f := range files {
		m.Listeners = append(m.Listeners, handoffListener{handoffKey: f.key, FD: 3 + len(extra)})
		extra = append(extra, f.file)
	}
	closeAll := func() {
		for _, f := range []*os.File{readyR, readyW, goR, goW} {
			if f != nil {
				f.Close()
			}
		}
	}
	msg, err := json.Marshal(m)
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("restart: %w", err)
	}
	cmd := exec.Command(exe, h.env.args...)
	cmd.Env = append(handoffEnviron(h.env.environ()), handoffEnvVar+"="+string(msg))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles = extra
	err = cmd.Start()
	// The new process has its own ends; EOF on the ready pipe then means
	// it is gone.
	readyW.Close()
	if goR != nil {
		goR.Close()
	}
	if err != nil {
		readyR.Close()
		if goW != nil {
			goW.Close()
		}
		return nil, fmt.Errorf("restart: start %s: %w", exe, err)
	}
	c := &handoffChild{
		cmd:    cmd,
		pid:    cmd.Process.Pid,
		log:    h.log.With("pid", cmd.Process.Pid),
		ready:  make(chan bool, 1),
		exited: make(chan error, 1),
		goW:    goW,
	}
	c.log.Info("handoff: started the new process", "exe", exe, "listeners", len(files), "probation", h.opts.Probation)
	go func() {
		defer readyR.Close()
		var b [1]byte
		n, _ := io.ReadFull(readyR, b[:])
		c.ready <- n == 1 && b[0] == handoffReadyByte
	}()
	go func() {
		err := cmd.Wait()
		c.exited <- err
		c.log.Info("handoff: new process exited", "status", cmd.ProcessState)
	}()
	return c, nil
}

// waitReady waits until the new process calls Ready. On any other outcome
// the new process is gone when it returns.
func (c *handoffChild) waitReady(ctx context.Context, timeout time.Duration, stop <-chan struct{}) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	ready := c.ready
	for {
		select {
		case ok := <-ready:
			if ok {
				c.log.Info("handoff: the new process is ready")
				return nil
			}
			ready = nil // closed without a word: wait for its exit or the timeout
		case err := <-c.exited:
			c.gone, c.exitErr = true, err
			if ready == nil {
				return c.exitError()
			}
			// A Ready may still sit in the pipe; keep reading it.
		case <-timer.C:
			if c.gone {
				return c.exitError()
			}
			c.kill()
			c.log.Warn("handoff: the new process sent no Ready in time; it was killed", "timeout", timeout)
			return fmt.Errorf("%w: new process %d sent no Ready within %v", ErrNotReady, c.pid, timeout)
		case <-ctx.Done():
			return c.interrupted(fmt.Errorf("%w: new process %d: %w", ErrNotReady, c.pid, ctx.Err()))
		case <-stop:
			return c.interrupted(fmt.Errorf("%w: new process %d killed", ErrStopped, c.pid))
		}
		if c.gone && ready == nil {
			return c.exitError()
		}
	}
}

// probation lets the new process prove that it keeps running for d after
// Ready, while this one serves alone; then it tells it to go.
func (c *handoffChild) probation(ctx context.Context, d time.Duration, stop <-chan struct{}) error {
	defer c.closeGo()
	if c.gone {
		return c.exitError()
	}
	c.log.Info("handoff: the new process is on probation", "for", d)
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case err := <-c.exited:
		c.gone, c.exitErr = true, err
		c.log.Warn("handoff: the new process exited during probation; serving on")
		return c.exitError()
	case <-ctx.Done():
		return c.interrupted(fmt.Errorf("%w: new process %d on probation: %w", ErrNotReady, c.pid, ctx.Err()))
	case <-stop:
		return c.interrupted(fmt.Errorf("%w: new process %d killed on probation", ErrStopped, c.pid))
	case <-timer.C:
	}
	if _, err := c.goW.Write([]byte{handoffGoByte}); err != nil {
		// It died just now: its end of the pipe is closed.
		c.gone, c.exitErr = true, <-c.exited
		return c.exitError()
	}
	c.log.Info("handoff: probation passed; the new process takes over")
	return nil
}

// interrupted kills the new process unless it is already gone, and returns
// err (or its exit, if it went first).
func (c *handoffChild) interrupted(err error) error {
	if c.gone {
		return c.exitError()
	}
	c.kill()
	return err
}

// kill ends the new process and reaps it, so that its pid is gone when
// Restart returns.
func (c *handoffChild) kill() {
	if err := c.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		c.log.Warn("handoff: kill the new process", "err", err)
	}
	c.exitErr = <-c.exited
	c.gone = true
}

func (c *handoffChild) closeGo() {
	if c.goW != nil {
		c.goW.Close()
	}
}

func (c *handoffChild) exitError() error { return handoffExitError(c.pid, c.exitErr) }

func handoffExitError(pid int, err error) error {
	if err == nil {
		return fmt.Errorf("%w: new process %d exited with status 0", ErrChildExited, pid)
	}
	return fmt.Errorf("%w: new process %d: %w", ErrChildExited, pid, err)
}

// handoffEnviron drops a stale handoff variable from env.
func handoffEnviron(env []string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, handoffEnvVar+"=") {
			out = append(out, kv)
		}
	}
	return out
}
