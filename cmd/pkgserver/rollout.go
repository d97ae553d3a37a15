package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/molt-go/update/agent/deploylog"
	"github.com/molt-go/update/server"
	"github.com/molt-go/update/server/collect"
	"github.com/molt-go/update/source/feed"
)

// rollout stages a release over a fleet, from the release folder's
// rollouts file (server.RolloutsFile), which the feeds sign:
//
//	pkgserver rollout set    -dir DIR -key KEY -app APP -version V -percent P
//	pkgserver rollout set    -dir DIR -key KEY -app APP -version V -phases '1%@0h,10%@24h,100%@72h'
//	pkgserver rollout pause  -dir DIR -key KEY -app APP -version V
//	pkgserver rollout resume -dir DIR -key KEY -app APP -version V
//	pkgserver rollout abort  -dir DIR -key KEY -app APP -version V
//	pkgserver rollout status -dir DIR -app APP [-version V] [-db FILE|postgres://...]
//
// Each machine is offered the release once its own stable bucket (from its
// install ID) falls under the fraction in force, so the machines of 10%
// are among those of 50%. Phases start at the delays given, from now.
// pause freezes the fraction reached; resume goes on with the plan (phases
// not yet started move later by the time paused); abort withdraws the
// release: the feed stops listing it, machines that have not taken it
// never will, and those running it go back to the release they had. A
// running pkgserver serve signs a new feed at its next request; with -to
// (as publish takes it) the command publishes the app's feed at once.
// Without -to, -key is optional: the new feed is then signed in memory to
// check it. Set a rollout before putting the release's files in the
// folder, or the release is offered to every machine until you do.
//
// status prints JSON: {"app":..,"rollouts":[{"version","percent","phase",
// "phases","next","paused","halted_at","reason","withdrawn","machines",
// "failures"},..],"pins":[..]}. machines (that reported trying the
// release) and failures (of those, that reported a failed probe, apply or
// restart, or a rollback) come from the deployment log given with -db,
// the one pkgserver serve -db writes; without -db they are omitted.
func rollout(args []string) error {
	if len(args) == 0 {
		return errors.New("rollout: set, pause, resume, abort or status")
	}
	verb, args := args[0], args[1:]
	switch verb {
	case "status":
		return rolloutStatus(args)
	case "set", "pause", "resume", "abort":
	default:
		return fmt.Errorf("rollout: unknown command %q: set, pause, resume, abort or status", verb)
	}
	fs := flag.NewFlagSet("rollout "+verb, flag.ExitOnError)
	c := addEditFlags(fs)
	version := fs.String("version", "", "the release's version")
	var percent, phases *string
	if verb == "set" {
		percent = fs.String("percent", "", "the fraction of machines offered the release, 0 to 100")
		phases = fs.String("phases", "", "phases from now: PERCENT%@DELAY,..., such as 1%@0h,10%@24h,100%@72h")
	}
	fs.Parse(args)
	if *version == "" || fs.NArg() > 0 {
		return fmt.Errorf("rollout %s: -app and -version are required (and no other arguments)", verb)
	}
	var edit func(ro *server.Rollouts, now time.Time) error
	switch verb {
	case "set":
		if (*percent == "") == (*phases == "") {
			return errors.New("rollout set: give -percent or -phases")
		}
		edit = func(ro *server.Rollouts, now time.Time) error {
			var p float64
			var ph []feed.Phase
			var err error
			if *percent != "" {
				p, err = server.ParsePercent(*percent)
			} else {
				ph, err = server.ParsePhases(*phases, now)
			}
			if err != nil {
				return err
			}
			return ro.Set(*c.app, *version, p, ph, now)
		}
	case "pause":
		edit = func(ro *server.Rollouts, now time.Time) error { return ro.Pause(*c.app, *version, now) }
	case "resume":
		edit = func(ro *server.Rollouts, now time.Time) error { return ro.Resume(*c.app, *version, now) }
	case "abort":
		edit = func(ro *server.Rollouts, now time.Time) error { return ro.Abort(*c.app, *version, now) }
	}
	return c.run(edit, func(ro *server.Rollouts, now time.Time) string {
		return describe(ro.Status(*c.app, now), *version)
	})
}

// describe says in a line how one rollout stands.
func describe(st server.AppStatus, version string) string {
	for _, r := range st.Rollouts {
		if v, err := server.NormalVersion(version); err != nil || r.Version != v {
			continue
		}
		switch {
		case r.Withdrawn:
			return fmt.Sprintf("%s %s: withdrawn", st.App, r.Version)
		case r.HaltedAt.IsZero() && r.Paused:
			return fmt.Sprintf("%s %s: paused at %g%%", st.App, r.Version, r.Percent)
		case r.Paused:
			return fmt.Sprintf("%s %s: halted at %g%%: %s", st.App, r.Version, r.Percent, r.Reason)
		case r.Next != nil:
			return fmt.Sprintf("%s %s: %g%% of machines (phase %d of %d), %g%% from %s", st.App, r.Version, r.Percent,
				r.Phase, r.Phases, r.Next.Percent, r.Next.Start.Local().Format(time.RFC3339))
		}
		return fmt.Sprintf("%s %s: %g%% of machines", st.App, r.Version, r.Percent)
	}
	return st.App + " " + version
}

// editFlags are the flags of the commands that change the rollouts file.
type editFlags struct {
	dir, app, keyFile, to, endpoint, region *string
	lifetime                                *time.Duration
}

func addEditFlags(fs *flag.FlagSet) editFlags {
	return editFlags{
		dir:      fs.String("dir", ".", "folder of release files, which holds "+server.RolloutsFile),
		app:      fs.String("app", "", "the app"),
		keyFile:  fs.String("key", "", "private key (PEM) to sign the app's new feed with at once (required with -to)"),
		to:       fs.String("to", "", "also publish the app's feed at once: s3://bucket/prefix or file:///path, as publish"),
		endpoint: fs.String("endpoint", "", "with -to s3://: URL of an S3-compatible store"),
		region:   fs.String("region", "", "with -to s3://: the S3 region"),
		lifetime: fs.Duration("lifetime", server.DefaultLifetime, "with -to: how long the feed stays valid"),
	}
}

// run loads the key (so a wrong one changes nothing), edits the rollouts
// file, says how the rollout stands and signs or publishes the new feed.
func (c editFlags) run(edit func(*server.Rollouts, time.Time) error, say func(*server.Rollouts, time.Time) string) error {
	if *c.app == "" {
		return errors.New("-app is required")
	}
	if *c.to != "" && *c.keyFile == "" {
		return errors.New("-to needs -key to sign the feed")
	}
	var signer *feed.Signer
	if *c.keyFile != "" {
		var err error
		if signer, err = loadSigner(*c.keyFile); err != nil {
			return err
		}
	}
	now := time.Now()
	var after *server.Rollouts
	changed, err := server.EditRollouts(*c.dir, func(ro *server.Rollouts) error {
		after = ro
		return edit(ro, now)
	})
	if err != nil {
		return err
	}
	msg := say(after, now)
	if !changed {
		msg += " (unchanged)"
	}
	fmt.Println(msg)
	if signer == nil {
		return nil
	}
	return c.sign(signer)
}

// sign publishes the app's feed with -to, or signs it in memory.
func (c editFlags) sign(signer *feed.Signer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	apps, err := server.Build(*c.dir)
	if err != nil {
		return err
	}
	p := apps[*c.app]
	if p == nil {
		fmt.Printf("no release files for %s in %s yet: nothing to sign\n", *c.app, *c.dir)
		return nil
	}
	if *c.to == "" {
		check := *p
		check.Serial, check.Issued = 1, time.Now().UTC().Truncate(time.Second)
		check.Expires = check.Issued.Add(*c.lifetime)
		_, err = feed.Sign(&check, signer)
		return err
	}
	store, base, err := openStore(ctx, *c.to, *c.endpoint, *c.region)
	if err != nil {
		return err
	}
	res, err := server.Publish(ctx, *c.dir, signer, store, server.PublishOptions{
		Apps:     []string{*c.app},
		Lifetime: *c.lifetime,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	for _, p := range res {
		fmt.Printf("published %s: serial %d, %d releases: %s/%s/feed.json\n", p.App, p.Serial, p.Releases, base, p.App)
	}
	if err != nil {
		return fmt.Errorf("%w (the rollouts file is changed, the previous feed, if any, is still in place: publish again)", err)
	}
	return nil
}

func rolloutStatus(args []string) error {
	fs := flag.NewFlagSet("rollout status", flag.ExitOnError)
	dir := fs.String("dir", ".", "folder of release files, which holds "+server.RolloutsFile)
	app := fs.String("app", "", "the app")
	version := fs.String("version", "", "only this release")
	db := fs.String("db", "", "the deployment log (pkgserver serve -db: a SQLite file or postgres://...) for the machines and failures of each release")
	fs.Parse(args)
	if *app == "" || fs.NArg() > 0 {
		return errors.New("rollout status: -app is required (and no other arguments)")
	}
	ro, err := server.ReadRollouts(*dir)
	if err != nil {
		return err
	}
	var tally *collect.Tally
	if *db != "" {
		if tally, err = readTally(*db); err != nil {
			return err
		}
	}
	st := statusOf(ro, *app, tally, time.Now())
	if *version != "" {
		v, err := server.NormalVersion(*version)
		if err != nil {
			return err
		}
		var one []server.RolloutStatus
		for _, r := range st.Rollouts {
			if r.Version == v {
				one = append(one, r)
			}
		}
		st.Rollouts = append([]server.RolloutStatus{}, one...)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(st)
}

// readTally counts the deployment log db, a SQLite file, which must
// exist (status never makes an empty log), or a PostgreSQL URL.
func readTally(db string) (*collect.Tally, error) {
	if f := deploylog.SQLiteFile(db); f != "" {
		if _, err := os.Stat(f); err != nil {
			return nil, err
		}
	}
	// A long log from a far server takes a while; a stuck one fails.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	store, err := deploylog.Open(ctx, db)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	ds, err := store.List(ctx, 0)
	if err != nil {
		return nil, err
	}
	return collect.TallyOf(ds), nil
}

// statusOf is the app's status with the machines and failures of each
// release from tally, if not nil.
func statusOf(ro *server.Rollouts, app string, tally *collect.Tally, now time.Time) server.AppStatus {
	st := ro.Status(app, now)
	if tally == nil {
		return st
	}
	for i := range st.Rollouts {
		c := tally.Counts(app, st.Rollouts[i].Version, time.Time{})
		st.Rollouts[i].Machines, st.Rollouts[i].Failures = &c.Tried, &c.Failed
	}
	return st
}

// haltFlags are serve's flags for the automatic halt.
type haltFlags struct {
	min     *int
	percent *float64
}

func addHaltFlags(fs *flag.FlagSet) haltFlags {
	return haltFlags{
		min: fs.Int("halt-min", collect.DefaultHaltRule.MinMachines,
			"with -db: halt a rollout when at least this many machines report a failure or a rollback of its release (0: never)"),
		percent: fs.Float64("halt-percent", collect.DefaultHaltRule.Percent,
			"with -db: ... and they are at least this percentage of the machines that tried it"),
	}
}

// watchRollouts returns store counting each reported step and halting the
// rollouts whose failures pass the rule, the tally it counts in, and the
// fleet for the collector, both seeded with the log's history.
func watchRollouts(ctx context.Context, srv *server.Server, store deploylog.Store, h haltFlags, log *slog.Logger) (deploylog.Store, *collect.Tally, *collect.Fleet, error) {
	ds, err := store.List(ctx, 0)
	if err != nil {
		return nil, nil, nil, err
	}
	tally := collect.TallyOf(ds)
	w := &collect.Watch{
		Store:  store,
		Tally:  tally,
		Rule:   collect.HaltRule{MinMachines: *h.min, Percent: *h.percent},
		Halt:   srv.Halt,
		Logger: log,
	}
	return w, tally, collect.FleetOf(ds), nil
}

// withRollouts serves GET /api/rollouts (?app=APP for one app): the
// status of every app's rollouts, as rollout status prints it, in a JSON
// array.
func withRollouts(next http.Handler, dir string, tally *collect.Tally, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/rollouts", func(w http.ResponseWriter, r *http.Request) {
		ro, err := server.ReadRollouts(dir)
		if err != nil {
			log.Error("pkgserver: cannot read the rollouts", "err", err)
			http.Error(w, "cannot read the rollouts", http.StatusInternalServerError)
			return
		}
		apps := ro.AppNames()
		if one := r.URL.Query().Get("app"); one != "" {
			apps = []string{one}
		}
		out := []server.AppStatus{}
		for _, app := range apps {
			out = append(out, statusOf(ro, app, tally, time.Now()))
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache")
		_ = json.NewEncoder(w).Encode(out)
	})
	mux.Handle("/", next)
	return mux
}

// repeated is a flag that may be given more than once, or as a comma
// list.
type repeated []string

func (r *repeated) String() string { return strings.Join(*r, ",") }

func (r *repeated) Set(s string) error {
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*r = append(*r, part)
		}
	}
	return nil
}
