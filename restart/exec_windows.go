package restart

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"unsafe"

	"golang.org/x/sys/windows"
)

// restart runs exe as a child and exits with its status once it ends: a
// running executable cannot be replaced in-process on windows. The child's
// lifetime is not bound to ctx, since by then it is the program. The old
// process's other goroutines go on running while it waits.
//
// From the child's start on, the old process only waits, so that to the
// outside the pair behaves as the one program it stands for:
//   - Ctrl+C and Ctrl+Break, which the console sends to both, are left to
//     the child: the old process no longer reacts to them (its own
//     signal.Notify handlers included) and exits when the child does, with
//     its code. Without this the old process died at once, and whoever
//     waited for it saw the program end while the new version still ran.
//   - The child is put in a job object that is closed, killing it, when the
//     old process ends in any way, so that a supervisor that kills the
//     process it started (TerminateProcess, taskkill /F) does not leave the
//     new version running on its own. Only the child: what it starts breaks
//     away from the job. Where a job cannot be set up (one that forbids
//     it), the child runs without.
func (e Exec) restart(ctx context.Context, exe string, args, env []string) error {
	// A Cmd of our own rather than exec.Command, which would look a bare
	// name up in PATH.
	cmd := &exec.Cmd{Path: exe, Args: args, Env: env,
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	job := killOnCloseJob()
	if err := cmd.Start(); err != nil {
		if job != 0 {
			windows.CloseHandle(job)
		}
		return fmt.Errorf("restart: %w", err)
	}
	if job != 0 {
		// The job handle stays open, unclosed, for as long as this process
		// lives: the system closes it at exit, which kills what is left.
		if err := assignToJob(job, cmd.Process.Pid); err != nil {
			windows.CloseHandle(job)
		}
	}
	signal.Reset(os.Interrupt)
	signal.Notify(make(chan os.Signal, 1), os.Interrupt) // delivered to nobody: only waiting now
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

// killOnCloseJob returns a new job object that kills its processes when its
// last handle closes, or 0 if none can be made.
func killOnCloseJob() windows.Handle {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return 0
	}
	info := windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{}
	// Only the child: the processes it starts break away silently, so that
	// they outlive the program as they would on unix.
	info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE |
		windows.JOB_OBJECT_LIMIT_SILENT_BREAKAWAY_OK
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		windows.CloseHandle(job)
		return 0
	}
	return job
}

// assignToJob puts the process pid in job.
func assignToJob(job windows.Handle, pid int) error {
	p, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, uint32(pid))
	if err != nil {
		return err
	}
	defer windows.CloseHandle(p)
	return windows.AssignProcessToJobObject(job, p)
}
