//go:build unix

package pgtest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"
)

// runAsUser is who runs the server when the test runs as root, which
// initdb and postgres refuse to be.
const runAsUser = "nobody"

// credential is the user the server's programs run as; nil is this
// process's own.
type credential struct{ uid, gid uint32 }

// runAs returns nil, or as root the credential of runAsUser.
func runAs() (*credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(runAsUser)
	if err != nil {
		return nil, fmt.Errorf("pgtest: running as root, PostgreSQL must run as another user: %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pgtest: user %s: uid %q: %w", runAsUser, u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pgtest: user %s: gid %q: %w", runAsUser, u.Gid, err)
	}
	return &credential{uid: uint32(uid), gid: uint32(gid)}, nil
}

// chown gives path to the credential's user.
func (c *credential) chown(path string) error {
	if c == nil {
		return nil
	}
	return os.Chown(path, int(c.uid), int(c.gid))
}

// apply makes cmd run as the credential's user.
func (c *credential) apply(cmd *exec.Cmd) {
	if c == nil {
		return
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: c.uid, Gid: c.gid}}
}

// ownerOf returns the credential of path's owner, nil if that is this
// process's user.
func ownerOf(path string) (*credential, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || int(st.Uid) == os.Geteuid() {
		return nil, nil
	}
	return &credential{uid: st.Uid, gid: st.Gid}, nil
}

// alive reports whether process pid exists (signal 0 checks, sends
// nothing).
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
