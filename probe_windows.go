//go:build windows

package update

import (
	"errors"
	"fmt"
	"os/exec"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// runGroup runs the probe in a job object of its own, Windows' process
// group: whatever the staged binary starts is in the job too, and the
// timeout (or cancellation) terminates the whole job. Killing only the
// direct child would leave a grandchild running the staged file, which
// Windows then refuses to remove or rename. The job is made with
// JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE, so a grandchild left behind by a
// probe that answered dies as well when the probe is done, and so does
// the whole job if this process dies first.
//
// The child starts suspended and runs only once it is in the job, so
// nothing it starts can escape the job in between.
func runGroup(cmd *exec.Cmd) error {
	job, err := newKillJob()
	if err != nil {
		return err
	}
	defer windows.CloseHandle(job)
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.CreationFlags |= windows.CREATE_SUSPENDED
	cmd.Cancel = func() error { return windows.TerminateJobObject(job, 1) }
	if err := cmd.Start(); err != nil {
		return err
	}
	if err := joinAndResume(job, uint32(cmd.Process.Pid)); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return err
	}
	return cmd.Wait()
}

// newKillJob makes a job object whose processes all die when its last
// handle is closed.
func newKillJob() (windows.Handle, error) {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return 0, fmt.Errorf("probe: creating a job object: %w", err)
	}
	info := windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{
		BasicLimitInformation: windows.JOBOBJECT_BASIC_LIMIT_INFORMATION{
			LimitFlags: windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
		},
	}
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		windows.CloseHandle(job)
		return 0, fmt.Errorf("probe: setting up the job object: %w", err)
	}
	return job, nil
}

// joinAndResume puts the suspended process pid in job and resumes its
// threads (a process created suspended has one).
func joinAndResume(job windows.Handle, pid uint32) error {
	p, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, pid)
	if err != nil {
		return fmt.Errorf("probe: opening the staged program's process: %w", err)
	}
	defer windows.CloseHandle(p)
	if err := windows.AssignProcessToJobObject(job, p); err != nil {
		return fmt.Errorf("probe: putting the staged program in its job object: %w", err)
	}
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPTHREAD, 0)
	if err != nil {
		return fmt.Errorf("probe: listing the staged program's threads: %w", err)
	}
	defer windows.CloseHandle(snap)
	te := windows.ThreadEntry32{Size: uint32(unsafe.Sizeof(windows.ThreadEntry32{}))}
	resumed := 0
	for err = windows.Thread32First(snap, &te); err == nil; err = windows.Thread32Next(snap, &te) {
		if te.OwnerProcessID != pid {
			continue
		}
		th, err := windows.OpenThread(windows.THREAD_SUSPEND_RESUME, false, te.ThreadID)
		if err != nil {
			return fmt.Errorf("probe: opening the staged program's thread: %w", err)
		}
		_, err = windows.ResumeThread(th)
		windows.CloseHandle(th)
		if err != nil {
			return fmt.Errorf("probe: resuming the staged program: %w", err)
		}
		resumed++
	}
	if !errors.Is(err, windows.ERROR_NO_MORE_FILES) {
		return fmt.Errorf("probe: listing the staged program's threads: %w", err)
	}
	if resumed == 0 {
		return errors.New("probe: the staged program has no thread to resume")
	}
	return nil
}

// textBusy is a unix condition.
func textBusy(error) bool { return false }
