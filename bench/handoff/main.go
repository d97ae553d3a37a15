// Command handoff measures what clients of examples/daemon see while it
// upgrades itself: an open-loop load at a steady rate (a ticker starts each
// request on time, whether or not earlier ones have finished, so a stall
// shows as latency instead of as fewer requests) runs across a series of
// upgrades, each triggered by SIGHUP as systemd's ExecReload would.
//
// Latency is counted from the moment a request was due. A request is
// "during an upgrade" if it was due between the SIGHUP and half a second
// after the new version first answered (download, verify, probe, the new
// process's start, its probation and the old one's drain all fall inside);
// every other request is "steady".
//
//	cd bench && go run ./handoff -rate 500 -upgrades 10
package main

import (
	"bufio"
	"context"
	"errors"
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
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/molt-go/update/server"

	"github.com/molt-go/update/source/feed"
)

const daemonPkg = "github.com/molt-go/update/examples/daemon"

type config struct {
	rate      int
	upgrades  int
	gap       time.Duration
	probation time.Duration
	fresh     int // every fresh-th request opens a new connection
}

func main() {
	var c config
	flag.IntVar(&c.rate, "rate", 500, "requests per second")
	flag.IntVar(&c.upgrades, "upgrades", 10, "upgrades to run")
	flag.DurationVar(&c.gap, "gap", 3*time.Second, "steady time before, between and after upgrades")
	flag.DurationVar(&c.probation, "probation", 500*time.Millisecond, "the daemon's -probation")
	flag.IntVar(&c.fresh, "fresh", 4, "one request in this many opens a new connection (0: none)")
	flag.Parse()
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "handoff:", err)
		os.Exit(1)
	}
}

func run(c config) error {
	dir, err := os.MkdirTemp("", "molt-bench-handoff-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	releases, bin := filepath.Join(dir, "releases"), filepath.Join(dir, "bin")
	for _, d := range []string{releases, bin, filepath.Join(dir, "builds")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	versions := make([]string, c.upgrades+1)
	for i := range versions {
		versions[i] = fmt.Sprintf("1.0.%d", i)
	}
	fmt.Fprintf(os.Stderr, "building %d versions of the daemon...\n", len(versions))
	builds, err := buildAll(filepath.Join(dir, "builds"), versions)
	if err != nil {
		return err
	}

	feedURL, pub, stopFeed, err := serveFeed(dir, releases)
	if err != nil {
		return err
	}
	defer stopFeed()
	target := filepath.Join(bin, "daemon")
	if err := copyFile(builds[versions[0]], target); err != nil {
		return err
	}
	d, err := startDaemon(target, dir, feedURL, pub, c.probation)
	if err != nil {
		return err
	}
	defer d.stop()

	l := startLoad(d.base, c.rate, c.fresh)
	var ups []upgrade
	time.Sleep(c.gap)
	for _, v := range versions[1:] {
		u, err := d.upgrade(releases, builds[v], v)
		if err != nil {
			l.stop()
			return err
		}
		ups = append(ups, u)
		fmt.Fprintf(os.Stderr, "upgraded to %s in %v\n", v, u.took().Round(time.Millisecond))
		time.Sleep(c.gap)
	}
	results := l.stop()
	report(os.Stdout, c, results, ups)
	return nil
}

// buildAll links each version of the daemon, two at a time, and returns
// their paths by version.
func buildAll(dir string, versions []string) (map[string]string, error) {
	builds := make(map[string]string, len(versions))
	for _, v := range versions {
		builds[v] = filepath.Join(dir, "daemon-"+v)
	}
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for v, path := range builds {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			cmd := exec.Command("go", "build", "-ldflags", "-X main.version="+v, "-o", path, daemonPkg)
			if b, err := cmd.CombinedOutput(); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("go build %s: %v\n%s", v, err, b))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return builds, errors.Join(errs...)
}

// serveFeed serves releases as a signed feed on 127.0.0.1 and writes the
// public key to dir.
func serveFeed(dir, releases string) (url, pubFile string, stop func(), err error) {
	priv, pub, err := feed.GenerateKey()
	if err != nil {
		return "", "", nil, err
	}
	signer, err := feed.LoadSigner(priv)
	if err != nil {
		return "", "", nil, err
	}
	pubFile = filepath.Join(dir, "update.pub")
	if err := os.WriteFile(pubFile, pub, 0o644); err != nil {
		return "", "", nil, err
	}
	srv, err := server.New(server.Options{Dir: releases, Signer: signer, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return "", "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", "", nil, err
	}
	hs := &http.Server{Handler: srv}
	go hs.Serve(ln)
	return "http://" + ln.Addr().String() + "/daemon/", pubFile, func() { hs.Close() }, nil
}

// daemon is the running daemon, with all its generations.
type daemon struct {
	base    string
	pidFile string
	first   *exec.Cmd
	eof     chan struct{}
	client  *http.Client
}

func startDaemon(target, dir, feedURL, pub string, probation time.Duration) (*daemon, error) {
	d := &daemon{
		pidFile: filepath.Join(dir, "daemon.pid"),
		eof:     make(chan struct{}),
		client:  &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second},
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	d.first = exec.Command(target, "-addr", "127.0.0.1:0", "-feed", feedURL, "-key", pub,
		"-state", filepath.Join(dir, "state"), "-pidfile", d.pidFile,
		"-interval", "0", "-probation", probation.String())
	d.first.Stdout, d.first.Stderr = w, w
	if err := d.first.Start(); err != nil {
		return nil, err
	}
	w.Close()
	go d.first.Wait()
	addr := make(chan string, 1)
	go func() {
		defer close(d.eof)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if _, a, ok := strings.Cut(sc.Text(), " serving on http://"); ok {
				select {
				case addr <- a:
				default:
				}
			}
		}
	}()
	select {
	case a := <-addr:
		d.base = "http://" + a
	case <-time.After(30 * time.Second):
		d.first.Process.Kill()
		return nil, errors.New("the daemon did not start")
	}
	for range 300 {
		if _, err := os.Stat(d.pidFile); err == nil {
			return d, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil, errors.New("the daemon wrote no PID file")
}

func (d *daemon) pid() (int, error) {
	b, err := os.ReadFile(d.pidFile)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// stop ends the serving generation and waits for every generation's exit.
func (d *daemon) stop() {
	if pid, err := d.pid(); err == nil {
		syscall.Kill(pid, syscall.SIGTERM)
	}
	select {
	case <-d.eof:
	case <-time.After(30 * time.Second):
		fmt.Fprintln(os.Stderr, "a daemon generation did not exit")
	}
}

// upgrade is the time line of one upgrade.
type upgrade struct {
	version  string
	hup      time.Time // SIGHUP sent
	switched time.Time // the new version answered a probe request
}

func (u upgrade) took() time.Duration { return u.switched.Sub(u.hup) }

// upgrade publishes build as version and sends SIGHUP until GET / answers it.
func (d *daemon) upgrade(releases, build, version string) (upgrade, error) {
	tmp := filepath.Join(filepath.Dir(releases), "daemon-staging")
	if err := copyFile(build, tmp); err != nil {
		return upgrade{}, err
	}
	if err := os.Rename(tmp, filepath.Join(releases, fmt.Sprintf("daemon-%s-%s-%s", version, runtime.GOOS, runtime.GOARCH))); err != nil {
		return upgrade{}, err
	}
	u := upgrade{version: version, hup: time.Now()}
	want := "daemon " + version + "\n"
	deadline := u.hup.Add(90 * time.Second)
	for next := u.hup; ; time.Sleep(5 * time.Millisecond) {
		if now := time.Now(); now.After(next) {
			pid, err := d.pid()
			if err != nil {
				return u, err
			}
			syscall.Kill(pid, syscall.SIGHUP)
			next = now.Add(5 * time.Second)
		}
		if body, err := get(context.Background(), d.client, d.base+"/"); err == nil && body == want {
			u.switched = time.Now()
			return u, nil
		}
		if time.Now().After(deadline) {
			return u, fmt.Errorf("%s never answered", version)
		}
	}
}

func get(ctx context.Context, client *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = errors.New(resp.Status)
	}
	return string(b), err
}

func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o755)
}
