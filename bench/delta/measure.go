package main

import (
	"bytes"
	"cmp"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// run is what one process cost.
type run struct {
	wall, cpu time.Duration
	rssKB     int64  // peak resident set, KiB; 0 if unknown
	stdout    string // for the molt child's own report
}

// gnuTime is /usr/bin/time if it is GNU time (its -f %M is the peak RSS of
// the program it runs, measured from a fresh fork of a small process, so
// not inflated by this one); "" otherwise.
var gnuTime = func() string {
	if out, err := exec.Command("/usr/bin/time", "-f", "%M", "true").CombinedOutput(); err == nil {
		if _, err := strconv.Atoi(strings.TrimSpace(string(out))); err == nil {
			return "/usr/bin/time"
		}
	}
	return ""
}()

// measure runs a program with stdout to the file stdoutTo (if not "") and
// reports its wall time, CPU time (user+system, which a busy machine sways
// less) and peak RSS.
func measure(work, stdoutTo, name string, args ...string) (run, error) {
	rssFile := ""
	if gnuTime != "" {
		f, err := os.CreateTemp(work, "rss-")
		if err != nil {
			return run{}, err
		}
		f.Close()
		rssFile = f.Name()
		defer os.Remove(rssFile)
		args = append([]string{"-f", "%M", "-o", rssFile, name}, args...)
		name = gnuTime
	}
	cmd := exec.Command(name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdoutTo != "" {
		f, err := os.Create(stdoutTo)
		if err != nil {
			return run{}, err
		}
		defer f.Close()
		cmd.Stdout = f
	}
	start := time.Now()
	err := cmd.Run()
	r := run{wall: time.Since(start), stdout: stdout.String()}
	if err != nil {
		return r, fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.Bytes())
	}
	r.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	if rssFile != "" {
		b, _ := os.ReadFile(rssFile)
		r.rssKB, _ = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	} else if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.rssKB = int64(ru.Maxrss) // an upper bound: see printHWM
	}
	// The molt child reports its own peak, which is exact either way.
	for _, line := range strings.Split(r.stdout, "\n") {
		var kb int64
		if _, err := fmt.Sscanf(line, "VmHWM: %d kB", &kb); err == nil && (r.rssKB == 0 || kb < r.rssKB) {
			r.rssKB = kb
		}
	}
	return r, nil
}

// median returns the run of median wall time, with the median CPU time
// and peak RSS of the set.
func median(rs []run) run {
	pick := func(key func(run) int64) int64 {
		v := make([]int64, len(rs))
		for i, r := range rs {
			v[i] = key(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	m := slices.MinFunc(rs, func(a, b run) int { return cmp.Compare(a.wall, b.wall) })
	m.wall = time.Duration(pick(func(r run) int64 { return int64(r.wall) }))
	m.cpu = time.Duration(pick(func(r run) int64 { return int64(r.cpu) }))
	m.rssKB = pick(func(r run) int64 { return r.rssKB })
	return m
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return -1
	}
	return fi.Size()
}

func sameFile(a, b string) bool {
	x, err1 := os.ReadFile(a)
	y, err2 := os.ReadFile(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}
