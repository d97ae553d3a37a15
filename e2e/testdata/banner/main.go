// Command banner is a host program of the end-to-end tests, shaped like a
// real program's first hour with molt: it prints a banner on stdout before
// it calls update.New (so the probe must not read stdout), then checks for
// an update (or installs one version with -install) and does its job.
//
//	banner -feed URL -key update.pub -state DIR [-install VERSION]
//
// Its stdout is only "app <version> starting" and "app <version> done".
// What the updater said goes to stderr as one line per run:
//
//	banner: update <kind>: <error or what happened>
//
// where kind is the sentinel the error wraps (errors.Is), so that a test
// can tell ErrProbeNoAnswer from ErrState without reading error texts:
// none, updated, up-to-date, probe-no-answer, probe, dev-build, state,
// replayed, in-progress, rolled-back, other. A state error also prints the
// path its *update.StateError names:
//
//	banner: state file <path>
//
// It always exits 0 once the banner is out: a failed update never stops
// the program from doing its job.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	update "github.com/molt-go/update"
	"github.com/molt-go/update/source/feed"
	"github.com/molt-go/update/verify"
)

var version = "0.0.0"

func main() {
	// The banner comes first, before New, on purpose: the probe answers on
	// a channel of its own (MOLT_PROBE), so what a program prints first
	// does not matter.
	fmt.Printf("app %s starting\n", version)

	feedURL := flag.String("feed", "", "URL of the signed feed")
	keyFile := flag.String("key", "", "PEM public key the feed is signed with")
	stateDir := flag.String("state", "", "updater state directory")
	install := flag.String("install", "", "install exactly this version instead of checking")
	flag.Parse()

	// New must run even without flags (the probe starts the staged binary
	// with none): a key that cannot be read leaves the verifier nil, and
	// New answers the probe before it looks at the options.
	var keys verify.Verifier
	if pem, err := os.ReadFile(*keyFile); err == nil {
		if k, err := verify.Signature(pem); err == nil {
			keys = k
		}
	}
	u, err := update.New(update.Options{
		App:      "banner",
		Version:  version,
		Source:   feed.New(*feedURL),
		Verifier: keys,
		StateDir: *stateDir,
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		say("", err)
		done()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Got this far: this version works.
	if err := u.Confirm(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "banner: confirm:", err)
	}
	var res *update.Result
	if *install != "" {
		res, err = u.Install(ctx, *install) // with restart.Exec, a success does not return
	} else {
		res, err = u.Check(ctx)
	}
	if res != nil {
		for _, sk := range res.Skipped {
			fmt.Fprintf(os.Stderr, "banner: skipped %s: %s\n", sk.Version, sk.Why)
		}
	}
	switch {
	case err != nil:
		say("", err)
	case res != nil && res.Updated:
		say("updated", fmt.Errorf("to %s", res.To))
	default:
		say("none", errors.New("up to date"))
	}
	done()
}

func done() { fmt.Printf("app %s done\n", version) }

var kinds = []struct {
	name string
	err  error
}{
	{"up-to-date", update.ErrUpToDate},
	{"probe-no-answer", update.ErrProbeNoAnswer},
	{"probe", update.ErrProbe},
	{"dev-build", update.ErrDevBuild},
	{"state", update.ErrState},
	{"replayed", update.ErrReplayed},
	{"in-progress", update.ErrInProgress},
	{"rolled-back", update.ErrRolledBack},
}

// say prints what the updater said, named by the sentinel it wraps.
func say(kind string, err error) {
	if kind == "" {
		kind = "other"
		for _, k := range kinds {
			if errors.Is(err, k.err) {
				kind = k.name
				break
			}
		}
	}
	fmt.Fprintf(os.Stderr, "banner: update %s: %v\n", kind, err)
	var se *update.StateError
	if errors.As(err, &se) {
		fmt.Fprintf(os.Stderr, "banner: state file %s\n", se.Path)
	}
}
