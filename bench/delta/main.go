// Command delta measures molt's binary patches (package delta) on real Go
// binaries, beside the full file, xz -9 of it, bsdiff/bspatch and
// zstd --patch-from, all in the same run:
//
//  1. hello: a small program built twice with only -X main.version changed;
//  2. pkgserver: this repository's package server built at two commits
//     (HEAD~1 and HEAD by default), each from a clean git archive;
//  3. versitygw v1.7.0 -> v1.8.0 from the module proxy (-skip-large to
//     leave it out: two builds and minutes of diffing).
//
// Every binary is stripped (-ldflags "-s -w"; hello and pkgserver also
// -trimpath, as releases are built). Each patch is made and applied in a
// process of its own, timed (wall and CPU) and measured for peak RSS with
// GNU time's %M where /usr/bin/time is GNU time, else with the process's
// rusage; molt's applier also reports its own VmHWM. Every applied result
// is compared with the new binary byte for byte. Last, over HTTP on
// 127.0.0.1, fetching the full file and checking its sha256 is timed
// against fetching the patch and applying it (which checks both digests).
//
//	cd bench && go run ./delta
//	cd bench && go run ./delta -old-rev HEAD~5 -skip-large
//
// bsdiff and zstd are Debian's packages (apt-get install bsdiff zstd
// xz-utils time); a tool that is missing is reported as not installed.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "child" {
		if err := child(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		return
	}
	repo := flag.String("repo", "", "the git repository to build pkgserver from (default: the one around the current folder)")
	oldRev := flag.String("old-rev", "HEAD~1", "the older commit of pkgserver")
	newRev := flag.String("new-rev", "HEAD", "the newer commit of pkgserver")
	pkgPaths := flag.String("pkgserver", "./cmd/pkgserver,./examples/pkgserver", "where pkgserver's main package may be in a commit, comma-separated; the first that exists is built")
	vgwOld := flag.String("versitygw-old", "v1.7.0", "the older versitygw release")
	vgwNew := flag.String("versitygw-new", "v1.8.0", "the newer versitygw release")
	skipLarge := flag.Bool("skip-large", false, "leave out versitygw")
	rounds := flag.Int("rounds", 3, "rounds of each apply and of the loopback timings; patches are made once")
	zstdLevel := flag.Int("zstd-level", 19, "zstd's level for --patch-from")
	keep := flag.Bool("keep", false, "keep the work folder")
	flag.Parse()
	if *repo == "" {
		out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
		if err != nil {
			fmt.Fprintln(os.Stderr, "delta: not in a git repository; set -repo")
			os.Exit(2)
		}
		*repo = strings.TrimSpace(string(out))
	}
	work, err := os.MkdirTemp("", "molt-bench-delta-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "delta:", err)
		os.Exit(1)
	}
	if *keep {
		fmt.Println("work folder:", work)
	} else {
		defer os.RemoveAll(work)
	}
	b := bench{work: work, rounds: max(*rounds, 1), zstdLevel: *zstdLevel}
	fmt.Printf("go %s %s/%s, %d CPUs; peak RSS by %s; times are wall (CPU); applies are medians of %d\n\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), rssMethod(), b.rounds)

	builders := []func() (pair, error){
		func() (pair, error) { return buildHello(work) },
		func() (pair, error) { return buildPkgserver(work, *repo, *oldRev, *newRev, *pkgPaths) },
	}
	if *skipLarge {
		fmt.Println("versitygw: skipped (-skip-large)")
	} else {
		builders = append(builders, func() (pair, error) { return buildVersitygw(work, *vgwOld, *vgwNew) })
	}
	var all []caseResult
	for _, build := range builders {
		p, err := build()
		if err != nil {
			fmt.Printf("skipped a case: the build failed: %v\n\n", err)
			continue
		}
		c, err := b.run(p)
		if err != nil {
			fmt.Fprintf(os.Stderr, "delta: %s: %v\n", p.name, err)
			os.Exit(1)
		}
		c.print()
		all = append(all, c)
	}
	printMarkdown(all)
}

func rssMethod() string {
	if gnuTime != "" {
		return "GNU time %M (molt's applier: its own VmHWM)"
	}
	return "rusage (molt's applier: its own VmHWM)"
}

// bench holds what every case shares.
type bench struct {
	work      string
	rounds    int
	zstdLevel int
}

// tool is one way of shipping the new file.
type tool struct {
	name        string
	size        int64 // bytes shipped
	make, apply run
	missing     string // why it was not run
}

type caseResult struct {
	p                  pair
	oldSize, newSize   int64
	identical          bool
	tools              []tool // full, xz, molt, bsdiff, zstd
	loopFull, loopMolt time.Duration
	loopMemo           time.Duration // the patch, the installed file's digest remembered
}

func (b bench) run(p pair) (caseResult, error) {
	c := caseResult{p: p, oldSize: fileSize(p.old), newSize: fileSize(p.new), identical: sameFile(p.old, p.new)}
	dir := filepath.Join(b.work, p.name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return c, err
	}
	out := filepath.Join(dir, "out")
	check := func(name string) error {
		if !sameFile(out, p.new) {
			return fmt.Errorf("%s made a file that differs from the new binary", name)
		}
		return os.Remove(out)
	}
	// applyRounds runs an applier b.rounds times (args[0] "stdout" sends
	// its output to out) and checks what it made every time.
	applyRounds := func(name string, args ...string) (run, error) {
		stdout := ""
		if args[0] == "stdout" {
			stdout, args = out, args[1:]
		}
		var rs []run
		for range b.rounds {
			r, err := measure(dir, stdout, args[0], args[1:]...)
			if err != nil {
				return r, err
			}
			if err := check(name); err != nil {
				return r, err
			}
			rs = append(rs, r)
		}
		return median(rs), nil
	}
	c.tools = append(c.tools, tool{name: "full file", size: c.newSize})

	xz := tool{name: "xz -9 of the full file"}
	if _, err := exec.LookPath("xz"); err != nil {
		xz.missing = "not installed (apt-get install xz-utils)"
	} else {
		xzFile := filepath.Join(dir, "new.xz")
		r, err := measure(dir, xzFile, "xz", "-9", "-T1", "-c", p.new)
		if err != nil {
			return c, err
		}
		xz.size, xz.make = fileSize(xzFile), r
		if xz.apply, err = applyRounds("xz -d", "stdout", "xz", "-d", "-c", xzFile); err != nil {
			return c, err
		}
	}
	c.tools = append(c.tools, xz)

	self, err := os.Executable()
	if err != nil {
		return c, err
	}
	molt := tool{name: "molt delta"}
	moltPatch := filepath.Join(dir, "patch.molt")
	if molt.make, err = measure(dir, "", self, "child", "diff", p.old, p.new, moltPatch); err != nil {
		return c, err
	}
	molt.size = fileSize(moltPatch)
	if molt.apply, err = applyRounds("molt", self, "child", "apply", p.old, moltPatch, out); err != nil {
		return c, err
	}
	c.tools = append(c.tools, molt)

	bs := tool{name: "bsdiff / bspatch"}
	_, e1 := exec.LookPath("bsdiff")
	_, e2 := exec.LookPath("bspatch")
	if e1 != nil || e2 != nil {
		bs.missing = "not installed (apt-get install bsdiff zstd)"
	} else {
		bsPatch := filepath.Join(dir, "patch.bsdiff")
		if bs.make, err = measure(dir, "", "bsdiff", p.old, p.new, bsPatch); err != nil {
			return c, err
		}
		bs.size = fileSize(bsPatch)
		if bs.apply, err = applyRounds("bspatch", "bspatch", p.old, out, bsPatch); err != nil {
			return c, err
		}
	}
	c.tools = append(c.tools, bs)

	zs := tool{name: fmt.Sprintf("zstd -%d --patch-from", b.zstdLevel)}
	if _, err := exec.LookPath("zstd"); err != nil {
		zs.missing = "not installed (apt-get install bsdiff zstd)"
	} else {
		zsPatch := filepath.Join(dir, "patch.zst")
		long := fmt.Sprintf("--long=%d", windowLog(max(c.oldSize, c.newSize)))
		if zs.make, err = measure(dir, "", "zstd", "-q", "-f", fmt.Sprintf("-%d", b.zstdLevel), long, "--patch-from="+p.old, p.new, "-o", zsPatch); err != nil {
			return c, err
		}
		zs.size = fileSize(zsPatch)
		if zs.apply, err = applyRounds("zstd -d", "zstd", "-q", "-f", "-d", long, "--patch-from="+p.old, zsPatch, "-o", out); err != nil {
			return c, err
		}
	}
	c.tools = append(c.tools, zs)

	if c.loopFull, c.loopMolt, c.loopMemo, err = loopback(dir, p, moltPatch, b.rounds); err != nil {
		return c, fmt.Errorf("loopback: %w", err)
	}
	return c, nil
}

// windowLog is the zstd window that covers n bytes, as --patch-from needs.
func windowLog(n int64) int {
	w := 10
	for int64(1)<<w < n && w < 31 {
		w++
	}
	return w
}
