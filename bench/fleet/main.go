// Command fleet measures a simulated fleet against the reference server on
// loopback: -clients real update.Updaters in this process (each a
// goroutine with its own install ID, state directory, executable file and
// feed Client; a recording Applier and Restarter from updatetest, no
// probe), and server.New in a child process of its own, so that its CPU
// time (getrusage) is its own.
//
//  1. Rollouts: release 1.1.0 staged at 1%, 10% and 50%; at each, every
//     machine checks once (Check: find, download, install); the fraction on
//     1.1.0 is compared with the plan.
//
//  2. Push: every machine holds a long-poll on its feed Client, as Watch
//     does between rounds; release 1.2.0 is dropped into the folder and
//     the time until each machine has the new feed, pushed and its
//     signature verified, is measured, with the server's CPU time while
//     the fleet waits idle and from the publication until all hold again.
//     Then every machine checks and installs 1.2.0, a phase of its own.
//
//  3. Polling: -conns kept-alive connections send conditional GETs of the
//     feed back to back for -poll; the server's 304s per second are what a
//     fleet that polls costs it (a fleet polling once a minute is 60 times
//     that many machines).
//
//     cd bench && go run ./fleet
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/molt-go/update/internal/platform"
	"github.com/molt-go/update/server"
	"github.com/molt-go/update/source/feed"
)

const appName = "fleet"

// checkParallel bounds the Checks at once in the push phase (see push).
const checkParallel = 1000

type config struct {
	clients  int
	parallel int
	conns    int
	client   string
	poll     time.Duration
	logReqs  bool
	profile  string
	only     string
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "server" {
		if err := serveChild(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "fleet server:", err)
			os.Exit(1)
		}
		return
	}
	var c config
	flag.IntVar(&c.clients, "clients", 10000, "simulated machines")
	flag.IntVar(&c.parallel, "parallel", 64, "machines checking at once in the rollout rounds")
	flag.IntVar(&c.conns, "conns", 64, "connections of the polling load")
	flag.StringVar(&c.client, "client", "lean", `the polling load's client: "lean" (a prepared request on a raw connection, so the load generator leaves the cores to the server) or "net/http"`)
	flag.DurationVar(&c.poll, "poll", 10*time.Second, "how long the polling load runs")
	flag.BoolVar(&c.logReqs, "log", false, "the server logs every request (to /dev/null), as pkgserver serve does")
	flag.StringVar(&c.profile, "serverprofile", "", "write the server's CPU profile over the polling phase to this file")
	flag.StringVar(&c.only, "only", "", `run only this phase: "polling" (no fleet is made)`)
	flag.Parse()
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "fleet:", err)
		os.Exit(1)
	}
}

// bench is one run's world: the releases folder and the server.
type bench struct {
	work, releases string
	srv            *child
}

// publish drops a release into the folder in one rename, as a publisher
// would (the server never hashes half a file).
func (b *bench) publish(version string) error {
	name := platform.FeedName(appName, version, runtime.GOOS, runtime.GOARCH, platform.Bare)
	tmp := filepath.Join(b.work, name)
	if err := os.WriteFile(tmp, []byte("fleet "+version), 0o755); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(b.releases, name))
}

func (b *bench) rollout(version string, percent float64) error {
	_, err := server.EditRollouts(b.releases, func(ro *server.Rollouts) error {
		return ro.Set(appName, version, percent, nil, time.Now())
	})
	return err
}

func run(c config) error {
	// Memory, where there is a tmpfs: ten thousand machines have ten
	// thousand disks, not one that every fsync of the fleet queues on.
	parent := ""
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		parent = "/dev/shm"
	}
	work, err := os.MkdirTemp(parent, "molt-bench-fleet-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	// The updaters' executable locks go there too.
	os.Setenv("TMPDIR", filepath.Join(work, "tmp"))
	os.MkdirAll(filepath.Join(work, "tmp"), 0o755)
	b := &bench{work: work, releases: filepath.Join(work, "releases")}
	os.MkdirAll(b.releases, 0o755)
	priv, pub, err := feed.GenerateKey()
	if err != nil {
		return err
	}
	keyFile := filepath.Join(work, "update.key")
	if err := os.WriteFile(keyFile, priv, 0o600); err != nil {
		return err
	}
	if err := b.publish("1.0.0"); err != nil {
		return err
	}
	b.srv, err = startChild(b.releases, keyFile, c.logReqs)
	if err != nil {
		return err
	}
	defer b.srv.stop()

	fmt.Printf("go %s %s/%s, %d CPUs; %d machines, server in its own process", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), c.clients)
	if c.logReqs {
		fmt.Print(", logging every request")
	}
	fmt.Print("\n\n")
	if c.only == "polling" {
		return polling(b, c)
	}
	t0 := time.Now()
	f, err := newFleet(work, b.srv.base, c.clients, pub)
	if err != nil {
		return err
	}
	fmt.Printf("%d updaters made in %v\n\n", len(f.ms), time.Since(t0).Round(time.Millisecond))

	if err := rollouts(b, f, c); err != nil {
		return err
	}
	if err := push(b, f); err != nil {
		return err
	}
	return polling(b, c)
}

// rollouts stages 1.1.0 at growing fractions, each machine checking once
// at each.
func rollouts(b *bench, f *fleet, c config) error {
	// The plan before the file, so that no check ever sees it unstaged.
	if err := b.rollout("1.1.0", 1); err != nil {
		return err
	}
	if err := b.publish("1.1.0"); err != nil {
		return err
	}
	fmt.Println("rollout of 1.1.0   machines on it   fraction   off by    checks took")
	for _, pct := range []float64{1, 10, 50} {
		if err := b.rollout("1.1.0", pct); err != nil {
			return err
		}
		start := time.Now()
		failed, first := f.checkAll(context.Background(), c.parallel)
		if failed > 0 {
			return fmt.Errorf("at %v%%: %d checks failed, the first: %w", pct, failed, first)
		}
		n := f.on("1.1.0")
		frac := 100 * float64(n) / float64(len(f.ms))
		fmt.Printf("%16.0f%%   %14d   %7.2f%%   %+5.2f pp   %v\n", pct, n, frac, frac-pct, time.Since(start).Round(time.Millisecond))
	}
	fmt.Println()
	return nil
}

// push has every machine hold a long-poll on its feed Client (Wait),
// publishes 1.2.0 once all hold one, and measures how soon each machine
// has the new feed: the moment its long-poll returned with it (the
// server's push), provided the feed it returned is then verified against
// the pinned key by the Client's Releases and lists 1.2.0, as the next
// Check of a real machine does first. The verifications wait until every
// machine's long-poll has returned (or a minute), since ten thousand
// signature checks on the two cores the server uses would be a queue a
// fleet of machines, each checking its own, never forms: the measure is
// the server's fan-out and the network, not the fleet's CPU.
//
// Then, as a phase of its own, every machine checks (find, download,
// install), checkParallel at a time, and goes back to holding: what the
// wave costs the server after the push. Ten thousand Checks at once in
// one process would hold some 30,000 files open (a connection, two locks,
// the staged file), over the 20,000 a process may have here, where ten
// thousand machines would have a budget each.
func push(b *bench, f *fleet) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cpu0, err := b.srv.cpu()
	if err != nil {
		return err
	}
	start := time.Now()
	done := make(chan struct{}, len(f.ms))
	checks := make(chan struct{}, checkParallel)
	check := func(m *machine) {
		checks <- struct{}{}
		defer func() { <-checks }()
		m.u.Check(ctx)
	}
	verify := make(chan struct{}) // closed once every push answer came
	for _, m := range f.ms {
		go func() {
			defer func() { done <- struct{}{} }()
			check(m)
			for ctx.Err() == nil {
				if err := m.src.Wait(ctx); err != nil {
					if ctx.Err() == nil {
						fmt.Fprintln(os.Stderr, "fleet: wait:", err)
						time.Sleep(time.Second)
					}
					continue
				}
				returned := time.Now()
				select {
				case <-verify:
				case <-ctx.Done():
					return
				}
				l, err := m.src.Releases(ctx, f.keys)
				if err != nil {
					if ctx.Err() == nil {
						fmt.Fprintln(os.Stderr, "fleet: pushed feed:", err)
					}
					continue
				}
				m.sawFeed(l, returned)
			}
		}()
	}
	n := int64(len(f.ms))
	if err := until(2*time.Minute, func() bool { return f.trans.held.Load() == n }); err != nil {
		return fmt.Errorf("%d of %d machines hold a long-poll: %w", f.trans.held.Load(), n, err)
	}
	connected := time.Since(start)
	cpu1, err := b.srv.cpu()
	if err != nil {
		return err
	}
	const idle = 5 * time.Second
	time.Sleep(idle)
	cpu2, err := b.srv.cpu()
	if err != nil {
		return err
	}
	self2 := cpuNow()

	published := time.Now()
	if err := b.publish("1.2.0"); err != nil {
		return err
	}
	until(time.Minute, func() bool { return len(f.trans.pushedSince(published)) >= len(f.ms) })
	close(verify)
	all := func() bool {
		for _, m := range f.ms {
			if _, ok := m.sawAt("1.2.0"); !ok {
				return false
			}
		}
		return true
	}
	if err := until(2*time.Minute, all); err != nil {
		return fmt.Errorf("not every machine had a verified feed of 1.2.0 pushed: %w", err)
	}
	var lat []time.Duration
	for _, m := range f.ms {
		at, _ := m.sawAt("1.2.0")
		lat = append(lat, at.Sub(published))
	}
	slices.Sort(lat)
	var answers []time.Duration
	for _, at := range f.trans.pushedSince(published) {
		answers = append(answers, at.Sub(published))
	}
	slices.Sort(answers)
	// Until all hold a long-poll again: the push is over.
	if err := until(2*time.Minute, func() bool { return f.trans.held.Load() == n }); err != nil {
		return fmt.Errorf("after 1.2.0, %d of %d machines hold a long-poll: %w", f.trans.held.Load(), n, err)
	}
	cpu3, err := b.srv.cpu()
	if err != nil {
		return err
	}
	self3 := cpuNow()

	// The wave after the push: every machine checks and installs.
	installStart := time.Now()
	if failed, first := f.checkAll(ctx, checkParallel); failed > 0 {
		return fmt.Errorf("after the push, %d checks failed, the first: %w", failed, first)
	}
	if got := f.on("1.2.0"); got != len(f.ms) {
		return fmt.Errorf("%d of %d machines installed 1.2.0", got, len(f.ms))
	}
	installed := time.Since(installStart)
	cpu4, err := b.srv.cpu()
	if err != nil {
		return err
	}
	cancel()
	for range f.ms {
		<-done
	}

	perClient := func(c cpu) string { return fmt.Sprintf("%.1f µs", c.total()/float64(n)*1e6) }
	fmt.Println("push: every machine holds a long-poll (Client.Wait); 1.2.0 dropped into the folder")
	fmt.Printf("  all %d holding a long-poll after   %v (first check of each included)\n", n, connected.Round(time.Millisecond))
	fmt.Printf("  push answers (the new feed) came    p50 %v, p99 %v, max %v after publication (%d answers)\n",
		at(answers, 0.5), at(answers, 0.99), at(answers, 1), len(answers))
	fmt.Printf("  each machine had it (then verified) p50 %v, p99 %v, max %v after publication\n", at(lat, 0.5), at(lat, 0.99), at(lat, 1))
	fmt.Printf("  server CPU, connecting the fleet    %.2f s (%s per machine: first check and long-poll)\n", cpu1.sub(cpu0).total(), perClient(cpu1.sub(cpu0)))
	fmt.Printf("  server CPU, %v of idle holding     %.3f s (%s per machine)\n", idle, cpu2.sub(cpu1).total(), perClient(cpu2.sub(cpu1)))
	fmt.Printf("  server CPU, publication to all held %.2f s (%s per machine: push answer, new long-poll; the fleet's process took %.2f s)\n",
		cpu3.sub(cpu2).total(), perClient(cpu3.sub(cpu2)), self3.sub(self2).total())
	fmt.Printf("  then every machine checked and installed it, %d at once: %v, server CPU %.2f s (%s per machine)\n",
		checkParallel, installed.Round(time.Millisecond), cpu4.sub(cpu3).total(), perClient(cpu4.sub(cpu3)))
	fmt.Println()
	return nil
}

// polling measures the 304s per second the server holds.
func polling(b *bench, c config) error {
	cpu0, err := b.srv.cpu()
	if err != nil {
		return err
	}
	self0 := cpuNow()
	if c.profile != "" {
		abs, err := filepath.Abs(c.profile)
		if err != nil {
			return err
		}
		if err := b.srv.profile(abs); err != nil {
			return err
		}
	}
	load := rawPollLoad
	switch c.client {
	case "lean":
	case "net/http":
		load = pollLoad
	default:
		return fmt.Errorf("-client %q: want lean or net/http", c.client)
	}
	rate, bad, err := load(b.srv.base, c.conns, c.poll)
	if err != nil {
		return err
	}
	if c.profile != "" {
		if err := b.srv.profile(""); err != nil {
			return err
		}
	}
	cpu1, err := b.srv.cpu()
	if err != nil {
		return err
	}
	self1 := cpuNow()
	req := rate * c.poll.Seconds()
	fmt.Printf("polling: %d kept-alive connections (%s client), conditional GETs of the feed for %v\n", c.conns, c.client, c.poll)
	fmt.Printf("  304 answers per second              %.0f (%d other answers or errors)\n", rate, bad)
	fmt.Printf("  server CPU per 304                  %.1f µs (%.2f of %d cores busy; the load generator took %.2f)\n",
		cpu1.sub(cpu0).total()/req*1e6, cpu1.sub(cpu0).total()/c.poll.Seconds(), runtime.NumCPU(), self1.sub(self0).total()/c.poll.Seconds())
	fmt.Printf("  machines polling once a minute      %.0f\n", rate*60)
	return nil
}

// at is the p-quantile of the sorted ds, rounded for printing.
func at(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return ds[int(p*float64(len(ds)-1))].Round(time.Millisecond)
}

var errTimeout = errors.New("timed out")

func until(d time.Duration, cond func() bool) error {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return errTimeout
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}
