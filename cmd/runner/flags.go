package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/molt-go/update/agent/git"
	"github.com/molt-go/update/agent/release"
	"github.com/molt-go/update/agent/supervise"
	"github.com/molt-go/update/cmd/internal/storeurl"
	"github.com/molt-go/update/server"
	"github.com/molt-go/update/source/feed"
	"github.com/molt-go/update/verify"
)

// errFlags means the command line is not valid.
var errFlags = errors.New("bad flags")

// defaultKeep is how many releases the release folder, and so the feed,
// keeps by default: enough to roll back a few steps, few enough that the
// feed stays small however long the branch runs.
const defaultKeep = 20

// config is the command line, checked.
type config struct {
	repo, branch, runCmd, addr, dbPath, workdir, project string
	builds                                               []string
	health                                               supervise.HealthCheck
	mode                                                 supervise.SwitchMode
	interval, buildTimeout                               time.Duration
	healthTimeout, stopTimeout, restartDelay             time.Duration

	// Publishing; publish "" means none.
	publish, endpoint, region, keyFile, app, releases string
	channel, pkg, versionVar, percent, phases         string
	rule                                              release.Rule
	platforms                                         []release.Platform
	keep, patches                                     int
	lifetime                                          time.Duration
}

// parseFlags reads and checks runner's command line.
func parseFlags(args []string) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("runner", flag.ContinueOnError)
	fs.StringVar(&c.repo, "repo", "", "repository to follow: URL or path (required)")
	fs.StringVar(&c.branch, "branch", git.DefaultBranch, "branch to follow")
	fs.Func("build", "shell command that builds the program in its workspace (repeatable)", func(s string) error {
		c.builds = append(c.builds, s)
		return nil
	})
	fs.StringVar(&c.runCmd, "run", "", "command that runs the program, relative to its workspace, split on spaces (required without -publish)")
	healthURL := fs.String("health", "", "health check: http(s)://... URL answering 2xx, or tcp://host:port")
	fs.DurationVar(&c.interval, "interval", time.Minute, "how often to poll the branch")
	fs.StringVar(&c.addr, "addr", "127.0.0.1:9090", "address of the deployments page and of POST /hook")
	fs.StringVar(&c.dbPath, "db", "deployments.db", "deployment log: a SQLite file, or a PostgreSQL database as postgres://user@host/db")
	fs.StringVar(&c.workdir, "workdir", "runner-work", "directory for the git mirror and the workspaces")
	mode := fs.String("switch", "stop-first", "stop-first, or start-first (the new version must not need the old one's port)")
	fs.DurationVar(&c.buildTimeout, "build-timeout", git.DefaultBuildTimeout, "longest a build may run (the -build commands, and the release builds)")
	fs.DurationVar(&c.healthTimeout, "health-timeout", supervise.DefaultHealthTimeout, "longest a new version may take to become healthy")
	fs.DurationVar(&c.stopTimeout, "stop-timeout", supervise.DefaultStopTimeout, "time between SIGTERM and SIGKILL")
	fs.DurationVar(&c.restartDelay, "restart-delay", supervise.DefaultRestartDelay, "pause before restarting a program that exited on its own, doubled while it keeps crashing; 0 never restarts it")
	fs.StringVar(&c.project, "project", "", "project name in the log (default: the repository's name)")

	fs.StringVar(&c.publish, "publish", "", "publish each commit as a release of a feed: s3://bucket/prefix, file:///path or a folder")
	fs.StringVar(&c.endpoint, "endpoint", "", "with -publish s3://: URL of an S3-compatible store (addressed path-style); default AWS")
	fs.StringVar(&c.region, "region", "", "with -publish s3://: the S3 region")
	fs.StringVar(&c.keyFile, "key", "", "with -publish: private key (PEM, pkgserver keygen) the feed is signed with (required)")
	fs.StringVar(&c.app, "app", "", "with -publish: the app's name in the feed and its files (default: the project's)")
	fs.StringVar(&c.releases, "releases", "", "with -publish: the release folder, as pkgserver serve -dir reads it (default WORKDIR/releases)")
	fs.StringVar(&c.channel, "channel", "stable", "with -publish: the channel untagged commits are released on: stable, or a prerelease word (beta)")
	rule := fs.String("version-rule", string(release.RuleCount), "with -publish: count (a tag, else the base tag plus the commits since it) or tag (tagged commits only)")
	platforms := fs.String("platforms", "", "with -publish: os/arch list to build, such as linux/amd64,linux/arm64 (default this machine's)")
	fs.StringVar(&c.pkg, "package", ".", "with -publish: the main package to build, relative to the repository")
	fs.StringVar(&c.versionVar, "version-var", release.DefaultVersionVar, "with -publish: the string variable -X sets to the version")
	fs.StringVar(&c.percent, "rollout", "", "with -publish: offer each new release to this percentage of machines (10%); default all")
	fs.StringVar(&c.phases, "phases", "", "with -publish: roll each new release out in phases from its publication: 1%@0h,10%@24h,100%@72h")
	fs.IntVar(&c.keep, "keep", defaultKeep, "with -publish: releases kept in the release folder and the feed (0: all)")
	fs.IntVar(&c.patches, "patches", 0, "with -publish: binary patches from this many earlier releases per platform (pkgserver's default is 3)")
	fs.DurationVar(&c.lifetime, "lifetime", server.DefaultLifetime, "with -publish: how long a feed stays valid (runner signs it again at half)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	bad := func(format string, a ...any) (*config, error) {
		return nil, fmt.Errorf("%w: "+format, append([]any{errFlags}, a...)...)
	}
	switch {
	case fs.NArg() > 0:
		return bad("unexpected arguments %q", fs.Args())
	case c.repo == "":
		return bad("-repo is required")
	case c.runCmd == "" && c.publish == "":
		return bad("-run or -publish is required (or both)")
	}
	switch *mode {
	case "stop-first":
	case "start-first":
		c.mode = supervise.StartFirst
	default:
		return bad("-switch %q: want stop-first or start-first", *mode)
	}
	switch {
	case *healthURL == "":
	case strings.HasPrefix(*healthURL, "tcp://"):
		c.health = supervise.TCPHealth{Addr: strings.TrimPrefix(*healthURL, "tcp://")}
	default:
		c.health = supervise.HTTPHealth{URL: *healthURL}
	}
	if c.runCmd == "" {
		for _, name := range []string{"health", "switch", "health-timeout", "stop-timeout", "restart-delay"} {
			if set[name] {
				return bad("-%s is for a program runner runs: give -run", name)
			}
		}
	}
	if c.publish == "" {
		for _, name := range []string{"endpoint", "region", "key", "app", "releases", "channel", "version-rule", "platforms",
			"package", "version-var", "rollout", "phases", "keep", "patches", "lifetime"} {
			if set[name] {
				return bad("-%s is for publishing: give -publish", name)
			}
		}
		return c, nil
	}
	return c.checkPublish(*rule, *platforms)
}

// checkPublish checks the publishing flags.
func (c *config) checkPublish(rule, platforms string) (*config, error) {
	bad := func(err error) (*config, error) { return nil, fmt.Errorf("%w: %w", errFlags, err) }
	var err error
	if c.keyFile == "" {
		return bad(errors.New("-publish needs -key, the private key that signs the feed"))
	}
	if c.app == "" {
		c.app = c.project
	}
	if c.app == "" {
		c.app = strings.TrimSuffix(path.Base(strings.ReplaceAll(strings.TrimRight(c.repo, `/\`), `\`, "/")), ".git")
	}
	if !feed.ValidName(c.app) || strings.ContainsAny(c.app, " ") || strings.HasPrefix(c.app, ".") {
		return bad(fmt.Errorf("-app %q is not a plain name", c.app))
	}
	if c.rule, err = release.ParseRule(rule); err != nil {
		return bad(err)
	}
	if err := release.CheckChannel(c.channel); err != nil {
		return bad(err)
	}
	if c.channel == "stable" {
		c.channel = ""
	}
	if c.platforms, err = release.ParsePlatforms(platforms); err != nil {
		return bad(err)
	}
	switch {
	case c.percent != "" && c.phases != "":
		return bad(errors.New("-rollout or -phases, not both"))
	case c.percent != "":
		if _, err := server.ParsePercent(c.percent); err != nil {
			return bad(err)
		}
	case c.phases != "":
		if _, err := server.ParsePhases(c.phases, time.Now()); err != nil {
			return bad(err)
		}
	}
	switch {
	case c.keep < 0:
		return bad(fmt.Errorf("-keep %d is negative", c.keep))
	case c.lifetime <= 0:
		return bad(fmt.Errorf("-lifetime %v is not positive", c.lifetime))
	case strings.ContainsAny(c.versionVar, " '\"") || c.versionVar == "":
		return bad(fmt.Errorf("-version-var %q is not a Go variable name", c.versionVar))
	}
	if c.releases == "" {
		c.releases = filepath.Join(c.workdir, "releases")
	}
	return c, nil
}

// publisher makes the agent's publisher from the checked flags: it reads
// the key and opens the store, so a wrong one stops runner at once.
func (c *config) publisher(ctx context.Context, r *git.Repo) (*publisher, error) {
	pem, err := os.ReadFile(c.keyFile)
	if err != nil {
		return nil, err
	}
	signer, err := feed.LoadSigner(pem)
	if err != nil {
		return nil, fmt.Errorf("-key %s: %w", c.keyFile, err)
	}
	pub, err := signer.PublicKeyPEM()
	if err != nil {
		return nil, err
	}
	keys, err := verify.Signature(pub)
	if err != nil {
		return nil, err
	}
	store, url, err := storeurl.Open(ctx, c.publish, storeurl.Options{Endpoint: c.endpoint, Region: c.region})
	if err != nil {
		return nil, err
	}
	releases, err := filepath.Abs(c.releases)
	if err != nil {
		return nil, err
	}
	p := &publisher{
		repo: r,
		builder: &release.Builder{Repo: r, App: c.app, Package: c.pkg, VersionVar: c.versionVar,
			Platforms: c.platforms, Timeout: c.buildTimeout},
		rule: c.rule, channel: c.channel, app: c.app,
		releases: releases, staging: filepath.Join(c.workdir, "staging"),
		signers: []*feed.Signer{signer}, keys: keys, store: store, storeURL: url,
		rollout: c.percent != "" || c.phases != "", phases: c.phases,
		keep: c.keep, lifetime: c.lifetime, patches: c.patches,
		log: slog.Default(), now: time.Now,
	}
	if c.percent != "" {
		p.percent, _ = server.ParsePercent(c.percent)
	}
	// The feed must verify with this key, or every Prepare would fail:
	// say so now.
	if _, err := p.current(ctx); err != nil {
		return nil, err
	}
	return p, nil
}
