// Command apply measures one update of a large asset, side by side:
//
//   - molt: update.Check from the reference server (stream to a staged file,
//     hash while streaming, fsync, backup, rename);
//   - minio: github.com/minio/selfupdate v0.6.0 applying the same HTTP body
//     with its sha256 check (it reads the whole binary into memory);
//   - cp+sha256: the floor the issue names, copying the release file from
//     disk to the target's folder while hashing it, then one rename; no
//     network, no fsync, no backup;
//   - get+sha256: the same over HTTP from the same server, to show what
//     the loopback transport costs.
//
// Each contender runs in a child process of its own, so its peak RSS is its
// own; the parent interleaves them over several rounds and reports medians.
//
//	cd bench && go run ./apply -sizes 64,256 -rounds 3
package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/molt-go/update/server"

	"github.com/molt-go/update/source/feed"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "child" {
		if err := child(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		return
	}
	sizes := flag.String("sizes", "64,256", "asset sizes in MiB")
	rounds := flag.Int("rounds", 3, "rounds per contender and size")
	flag.Parse()
	if err := parent(*sizes, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "apply:", err)
		os.Exit(1)
	}
}

var contenders = []string{"cp+sha256", "get+sha256", "molt", "minio"}

type result struct {
	wall  time.Duration
	rssKB int64
}

func parent(sizeList string, rounds int) error {
	work, err := os.MkdirTemp("", "molt-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	releases := filepath.Join(work, "releases")
	os.MkdirAll(releases, 0o755)
	priv, pub, err := feed.GenerateKey()
	if err != nil {
		return err
	}
	pubFile := filepath.Join(work, "update.pub")
	os.WriteFile(pubFile, pub, 0o644)
	signer, err := feed.LoadSigner(priv)
	if err != nil {
		return err
	}
	srv, err := server.New(server.Options{Dir: releases, Signer: signer, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv}
	go hs.Serve(ln)
	defer hs.Close()
	base := "http://" + ln.Addr().String()

	fmt.Printf("go %s %s/%s, %d CPUs; medians of %d rounds\n\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), rounds)
	fmt.Printf("%-8s %-12s %10s %10s %12s %10s\n", "size", "contender", "wall", "MB/s", "peak RSS", "wall/copy")
	for _, s := range strings.Split(sizeList, ",") {
		mib, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return err
		}
		// Each size is a new release, so molt always sees a newer version.
		version := fmt.Sprintf("1.%d.0", mib)
		name := fmt.Sprintf("app-%s-%s-%s", version, runtime.GOOS, runtime.GOARCH)
		sum, err := randomFile(filepath.Join(releases, name), int64(mib)<<20)
		if err != nil {
			return err
		}
		results := map[string][]result{}
		for r := 0; r < rounds; r++ {
			for _, c := range contenders {
				res, err := runChild(work, c, base, filepath.Join(releases, name), sum, pubFile)
				if err != nil {
					return fmt.Errorf("%s, %d MiB: %w", c, mib, err)
				}
				results[c] = append(results[c], res)
			}
		}
		copyWall := median(results["cp+sha256"]).wall
		for _, c := range contenders {
			m := median(results[c])
			mbps := float64(mib) * (1 << 20) / 1e6 / m.wall.Seconds()
			fmt.Printf("%-8s %-12s %10v %10.0f %9.1f MiB %9.2fx\n", fmt.Sprintf("%d MiB", mib), c, m.wall.Round(time.Millisecond), mbps, float64(m.rssKB)/1024, m.wall.Seconds()/copyWall.Seconds())
		}
		os.Remove(filepath.Join(releases, name))
	}
	return nil
}

func runChild(work, contender, base, release, sum, pubFile string) (result, error) {
	dir, err := os.MkdirTemp(work, "run-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	target := filepath.Join(dir, "app")
	// The installed binary: small, as the real one would be.
	if err := os.WriteFile(target, []byte("old version"), 0o755); err != nil {
		return result{}, err
	}
	self, err := os.Executable()
	if err != nil {
		return result{}, err
	}
	cmd := exec.Command(self, "child", contender, base, release, sum, pubFile, target, filepath.Join(dir, "state"))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return result{}, err
	}
	wall := time.Since(start)
	got, err := fileSum(target)
	if err != nil {
		return result{}, err
	}
	if got != sum {
		return result{}, fmt.Errorf("%s left a target with sha256 %s, want %s", contender, got, sum)
	}
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = int64(ru.Maxrss) // KiB on linux
	}
	return result{wall: wall, rssKB: rss}, nil
}

func median(rs []result) result {
	walls := make([]time.Duration, len(rs))
	rss := make([]int64, len(rs))
	for i, r := range rs {
		walls[i], rss[i] = r.wall, r.rssKB
	}
	slices.Sort(walls)
	slices.Sort(rss)
	return result{wall: walls[len(walls)/2], rssKB: rss[len(rss)/2]}
}

func randomFile(path string, size int64) (string, error) {
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), rand.Reader, size); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), f.Close()
}

func fileSum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
