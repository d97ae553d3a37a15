package restart

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// handOff starts the new process and waits for its verdict.
func (h *Handoff) handOff(ctx context.Context, exe string, files []handoffFile) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrNotReady, err)
	}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("restart: ready pipe: %w", err)
	}
	// The new process sees ExtraFiles[i] as descriptor 3+i.
	m := handoffMessage{PPID: os.Getpid(), Ready: 3}
	extra := []*os.File{readyW}
	for i, f := range files {
		m.Listeners = append(m.Listeners, handoffListener{handoffKey: f.key, FD: 4 + i})
		extra = append(extra, f.file)
	}
	msg, err := json.Marshal(m)
	if err != nil {
		readyR.Close()
		readyW.Close()
		return fmt.Errorf("restart: %w", err)
	}
	cmd := exec.Command(exe, h.env.args...)
	cmd.Env = append(handoffEnviron(h.env.environ()), handoffEnvVar+"="+string(msg))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles = extra
	err = cmd.Start()
	readyW.Close() // the new process has its own; EOF then means it is gone
	if err != nil {
		readyR.Close()
		return fmt.Errorf("restart: start %s: %w", exe, err)
	}
	pid := cmd.Process.Pid
	log := h.log.With("pid", pid)
	log.Info("handoff: started the new process", "exe", exe, "listeners", len(files))

	ready := make(chan bool, 1)
	go func() {
		defer readyR.Close()
		var b [1]byte
		n, _ := io.ReadFull(readyR, b[:])
		ready <- n == 1 && b[0] == handoffReadyByte
	}()
	exited := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		exited <- err
		log.Info("handoff: new process exited", "status", cmd.ProcessState)
	}()

	timer := time.NewTimer(h.opts.ReadyTimeout)
	defer timer.Stop()
	kill := func() {
		if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			log.Warn("handoff: kill the new process", "err", err)
		}
		<-exited // reaped: its pid is gone when Restart returns
	}
	var exitErr error
	processGone := false
	for {
		select {
		case ok := <-ready:
			if ok {
				log.Info("handoff: the new process is ready")
				return nil
			}
			ready = nil // closed without a word: wait for its exit or the timeout
		case exitErr = <-exited:
			exited = nil
			processGone = true
			if ready == nil {
				return handoffExitError(pid, exitErr)
			}
			// A Ready may still sit in the pipe; keep reading it.
		case <-timer.C:
			if processGone {
				return handoffExitError(pid, exitErr)
			}
			kill()
			log.Warn("handoff: the new process sent no Ready in time; it was killed", "timeout", h.opts.ReadyTimeout)
			return fmt.Errorf("%w: new process %d sent no Ready within %v", ErrNotReady, pid, h.opts.ReadyTimeout)
		case <-ctx.Done():
			if processGone {
				return handoffExitError(pid, exitErr)
			}
			kill()
			return fmt.Errorf("%w: new process %d: %w", ErrNotReady, pid, ctx.Err())
		case <-h.stop:
			if processGone {
				return handoffExitError(pid, exitErr)
			}
			kill()
			return fmt.Errorf("%w: new process %d killed", ErrStopped, pid)
		}
		if processGone && ready == nil {
			return handoffExitError(pid, exitErr)
		}
	}
}

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
