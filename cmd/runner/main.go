// Command runner keeps another program at the head of a git branch: it
// builds each new commit in a fresh workspace while the current version
// serves, switches over, checks the new version's health and rolls back
// when it never becomes healthy, and logs every step of every deployment
// in a SQLite database (or PostgreSQL, -db postgres://...), shown at
// /deployments.
//
//	runner -repo https://example.com/you/app.git -branch main \
//	  -build 'go build -o app .' -run './app' \
//	  -health http://127.0.0.1:8080/ -interval 1m \
//	  -addr 127.0.0.1:9090 -db deployments.db
//
// A push hook (git post-receive, or a forge's webhook) can POST to
// http://ADDR/hook to deploy at once rather than at the next poll.
//
// A program that exits on its own is started again after -restart-delay,
// doubling while it keeps crashing (up to 30s); each crash and restart is
// logged, and shown as steps of the deployment of the version that crashed.
//
// # Publishing to a fleet
//
// With -publish, runner also (or, without -run, only) makes each commit a
// signed release of a feed, so one build machine follows the branch and a
// fleet of programs that embed the update library updates from the feed:
//
//	runner -repo URL -branch main -publish s3://bucket/prefix -key update.key \
//	  -app hello -package ./cmd/hello -platforms linux/amd64,linux/arm64 \
//	  -rollout 10% -interval 5m
//
// Each commit is cross-built for every -platforms entry (default: this
// machine's) with go build -trimpath -ldflags "-s -w -X main.version=V"
// (-version-var), CGO off, into the release folder (-releases, default
// WORKDIR/releases: <app>-<V>-<os>-<arch>, as pkgserver serves it), its
// rollout set first (-rollout P% or -phases '1%@0h,10%@24h,100%@72h';
// none: every machine at once), and the folder published to -publish
// (s3://bucket/prefix with -endpoint and -region, file:///path or a
// folder) with the package server's publisher: the files first, the
// signed feed last, so a failed upload leaves the feed as it was and the
// next check tries again. With -run too, a version is published only
// once it is healthy here. pkgserver rollout ... -dir RELEASES -to
// PUBLISH changes a rollout later; a feed past half its -lifetime is
// signed again even if the branch does not move.
//
// The version V of a commit (-version-rule, see agent/release): its semver
// tag if it has one (v1.4.0 -> 1.4.0); else, by the default rule count,
// the newest release tag it descends from plus the commits since it on the
// patch (v1.4.0 and 3 commits -> 1.4.3, 0.0.N with no tag), or on a
// -channel c other than stable the prerelease 1.4.1-c.3 that clients on
// channel c take. By rule tag, untagged commits are not published. A
// version that is not above one the feed or folder holds on its channel is
// refused (the deployment fails, nothing is published); a commit whose
// version the feed lists already is not published again.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/molt-go/update/agent"
	"github.com/molt-go/update/agent/deploylog"
	"github.com/molt-go/update/agent/git"
	"github.com/molt-go/update/agent/supervise"
	"github.com/molt-go/update/server/pages"
)

func main() {
	c, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err == nil {
		err = run(c)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "runner:", err)
		os.Exit(1)
	}
}

func run(c *config) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	r, err := git.New(git.Options{Repo: c.repo, Branch: c.branch, Workdir: c.workdir, Build: c.builds, BuildTimeout: c.buildTimeout})
	if err != nil {
		return err
	}
	var sup *supervise.Supervisor
	if c.runCmd != "" {
		sup = &supervise.Supervisor{Args: strings.Fields(c.runCmd), HealthTimeout: c.healthTimeout, StopTimeout: c.stopTimeout,
			RestartDelay: c.restartDelay, NoRestart: c.restartDelay <= 0, Mode: c.mode, Health: c.health}
	}
	store, err := deploylog.Open(ctx, c.dbPath)
	if err != nil {
		return err
	}
	defer store.Close()
	o := agent.Options{Repo: r, Supervisor: sup, Store: store, Project: c.project, Interval: c.interval}
	var pub *publisher
	if c.publish != "" {
		if pub, err = c.publisher(ctx, r); err != nil {
			return err
		}
		o.Publisher = pub
		go pub.refreshEvery(ctx, refreshInterval)
	}
	ag, err := agent.New(o)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler(ag, store), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	slog.Info("runner: serving", "url", "http://"+ln.Addr().String()+"/deployments", "repo", r.URL(), "branch", r.Branch())
	return ag.Run(ctx)
}

// refreshInterval is how often a publishing runner looks whether the feed
// needs signing again (half its lifetime gone, or a release missing).
const refreshInterval = time.Hour

// handler serves the agent's push hook at /hook and the deployment pages
// everywhere else.
func handler(ag *agent.Agent, store deploylog.Store) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/hook", ag.Handler())
	mux.Handle("/", pages.New(store, ag.Status))
	return mux
}
