//go:build unix

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"testing"
)

// TestDaemonUpgradesUnderLoad upgrades examples/daemon ten times in a row,
// each time by SIGHUP, while eight workers send requests, half over kept
// connections and half over new ones: not one request may fail, and each
// version must confirm itself before the next comes.
func TestDaemonUpgradesUnderLoad(t *testing.T) {
	t.Parallel()
	const upgrades = 10
	versions := []string{"1.0.0"}
	for i := 1; i <= upgrades; i++ {
		versions = append(versions, fmt.Sprintf("1.0.%d", i))
	}
	prebuild(t, versions...)
	w := newDaemonWorld(t, versions[0])
	d := w.start("-interval", "0", "-probation", "300ms")
	first := d.pid()
	load := startDaemonLoad(t, d.base, 8)
	load.waitFor(t, versions[0], 50)

	for _, v := range versions[1:] {
		w.publish(v, "", "")
		d.upgradeTo(v)
		d.waitLog("version="+v, "version confirmed")
		load.waitFor(t, v, 20)
	}
	load.check(t, versions...)

	last := versions[len(versions)-1]
	w.installedIs(last)
	for _, v := range versions[1:] {
		if n := w.downloaded(v); n != 1 {
			t.Errorf("%s downloaded %d times, want once", v, n)
		}
		if load.count("daemon "+v+"\n") == 0 {
			t.Errorf("no request was answered by %s", v)
		}
	}
	if pid := d.pid(); pid == first {
		t.Errorf("the first process %d still serves after %d upgrades", first, upgrades)
	}
	if err := <-d.exited; err != nil {
		t.Errorf("the first generation did not drain and exit cleanly: %v", err)
	}
}

// TestDaemonBadReleases publishes, under load, releases that fail in each
// way a release can fail after it was verified. Each must end with the old
// version serving from the old binary, no failed request, and the release
// never downloaded again while the daemon keeps checking.
func TestDaemonBadReleases(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		failMode string
		goarch   string
		args     []string
		outcome  []string // a log line that says the release was dealt with
	}{
		{"exits at once with status 1", "exit1", "", nil,
			[]string{"version=1.0.0", "step=rollback", "from=1.1.0"}},
		{"panics after one second", "panic1s", "", nil,
			[]string{"version=1.0.0", "step=rollback", "from=1.1.0"}},
		{"never calls Ready", "noready", "", []string{"-ready-timeout", "1s"},
			[]string{"version=1.0.0", "step=rollback", "from=1.1.0"}},
		{"built for another architecture", "", foreignArch(t), nil,
			[]string{"version=1.0.0", "step=probe", "err="}},
		{"serves but never confirms", "noconfirm", "", []string{"-confirm-timeout", "4s"},
			[]string{"version=1.1.0", "a new version took over"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			prebuild(t, "1.0.0")
			daemonBin(t, "1.1.0", c.failMode, c.goarch)
			w := newDaemonWorld(t, "1.0.0")
			d := w.start(append([]string{"-interval", "200ms", "-probation", "2s"}, c.args...)...)
			first := d.pid()
			load := startDaemonLoad(t, d.base, 4)
			load.waitFor(t, "1.0.0", 50)

			w.publish("1.1.0", c.failMode, c.goarch)
			d.waitLog(c.outcome...)
			// Watch goes on checking; the bad release stays refused.
			w.waitChecks(5)
			if n := w.downloaded("1.1.0"); n != 1 {
				t.Errorf("the bad release was downloaded %d times, want once", n)
			}
			load.waitFor(t, "1.0.0", load.count("daemon 1.0.0\n")+20)
			if got := d.get(); got != "daemon 1.0.0\n" {
				t.Errorf("GET / answers %q after the bad release, want daemon 1.0.0", got)
			}
			w.installedIs("1.0.0")

			if c.failMode == "noconfirm" {
				// It served until its deadline, then handed the listener
				// back to the restored old binary.
				load.check(t, "1.0.0", "1.1.0")
				if load.count("daemon 1.1.0\n") == 0 {
					t.Error("the unconfirmed release never served, so the rollback was not tested under load")
				}
				pid := d.pid()
				if pid == first {
					t.Errorf("the first process %d serves; want a new 1.0.0 process", pid)
				}
				if !d.logged("pid="+strconv.Itoa(pid), "version=1.0.0", "started by the previous process") {
					t.Errorf("the serving process %d was not started by a handoff", pid)
				}
				return
			}
			load.check(t, "1.0.0")
			if pid := d.pid(); pid != first {
				t.Errorf("PID file names %d, want the first process %d", pid, first)
			}
			select {
			case err := <-d.exited:
				t.Errorf("the first process exited: %v", err)
			default:
			}
		})
	}
}

// foreignArch is an architecture whose binaries cannot run here: not this
// one, not one this machine runs natively, and none that the kernel hands
// to an emulator through binfmt_misc.
func foreignArch(t *testing.T) string {
	qemu := map[string]string{"arm64": "aarch64", "riscv64": "riscv64", "s390x": "s390x", "ppc64le": "ppc64le", "amd64": "x86_64"}
	native := map[string][]string{"amd64": {"amd64", "386"}, "arm64": {"arm64", "arm"}}
	for _, arch := range []string{"arm64", "riscv64", "s390x", "ppc64le", "amd64"} {
		if arch == runtime.GOARCH || slices.Contains(native[runtime.GOARCH], arch) {
			continue
		}
		if _, err := os.Stat(filepath.Join("/proc/sys/fs/binfmt_misc", "qemu-"+qemu[arch])); err == nil {
			continue
		}
		return arch
	}
	t.Fatal("every candidate architecture runs here (qemu binfmt handlers are registered)")
	return ""
}
