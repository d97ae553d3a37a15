// Command runner keeps another program at the head of a git branch: it
// builds each new commit in a fresh workspace while the current version
// serves, switches over, checks the new version's health and rolls back
// when it never becomes healthy, and logs every step of every deployment
// in a SQLite database, shown at /deployments.
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
	"github.com/molt-go/update/server/pages"

	"github.com/molt-go/update/agent/supervise"

	"github.com/molt-go/update/agent/deploylog"
	"github.com/molt-go/update/agent/git"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "runner:", err)
		os.Exit(1)
	}
}

func run() error {
	var builds []string
	repo := flag.String("repo", "", "repository to follow: URL or path (required)")
	branch := flag.String("branch", git.DefaultBranch, "branch to follow")
	flag.Func("build", "shell command that builds the program in its workspace (repeatable)", func(s string) error {
		builds = append(builds, s)
		return nil
	})
	runCmd := flag.String("run", "", "command that runs the program, relative to its workspace, split on spaces (required)")
	health := flag.String("health", "", "health check: http(s)://... URL answering 2xx, or tcp://host:port")
	interval := flag.Duration("interval", time.Minute, "how often to poll the branch")
	addr := flag.String("addr", "127.0.0.1:9090", "address of the deployments page and of POST /hook")
	dbPath := flag.String("db", "deployments.db", "SQLite file of the deployment log")
	workdir := flag.String("workdir", "runner-work", "directory for the git mirror and the workspaces")
	mode := flag.String("switch", "stop-first", "stop-first, or start-first (the new version must not need the old one's port)")
	buildTimeout := flag.Duration("build-timeout", git.DefaultBuildTimeout, "longest a build may run")
	healthTimeout := flag.Duration("health-timeout", supervise.DefaultHealthTimeout, "longest a new version may take to become healthy")
	stopTimeout := flag.Duration("stop-timeout", supervise.DefaultStopTimeout, "time between SIGTERM and SIGKILL")
	restartDelay := flag.Duration("restart-delay", supervise.DefaultRestartDelay, "pause before restarting a program that exited on its own, doubled while it keeps crashing; 0 never restarts it")
	project := flag.String("project", "", "project name in the log (default: the repository's name)")
	flag.Parse()
	if *repo == "" || *runCmd == "" {
		flag.Usage()
		return errors.New("-repo and -run are required")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	r, err := git.New(git.Options{Repo: *repo, Branch: *branch, Workdir: *workdir, Build: builds, BuildTimeout: *buildTimeout})
	if err != nil {
		return err
	}
	sup := &supervise.Supervisor{Args: strings.Fields(*runCmd), HealthTimeout: *healthTimeout, StopTimeout: *stopTimeout,
		RestartDelay: *restartDelay, NoRestart: *restartDelay <= 0}
	switch *mode {
	case "stop-first":
	case "start-first":
		sup.Mode = supervise.StartFirst
	default:
		return fmt.Errorf("-switch %q: want stop-first or start-first", *mode)
	}
	switch {
	case *health == "":
	case strings.HasPrefix(*health, "tcp://"):
		sup.Health = supervise.TCPHealth{Addr: strings.TrimPrefix(*health, "tcp://")}
	default:
		sup.Health = supervise.HTTPHealth{URL: *health}
	}
	store, err := deploylog.OpenSQLite(ctx, *dbPath)
	if err != nil {
		return err
	}
	defer store.Close()
	ag, err := agent.New(agent.Options{Repo: r, Supervisor: sup, Store: store, Project: *project, Interval: *interval})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler(ag, store), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	slog.Info("runner: serving", "url", "http://"+ln.Addr().String()+"/deployments", "repo", r.URL(), "branch", r.Branch())
	return ag.Run(ctx)
}

// handler serves the agent's push hook at /hook and the deployment pages
// everywhere else.
func handler(ag *agent.Agent, store deploylog.Store) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/hook", ag.Handler())
	mux.Handle("/", pages.New(store, ag.Status))
	return mux
}
