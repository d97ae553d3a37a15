// Command hello is a CLI that updates itself at startup.
//
//	hello -version                      print the bare version and exit
//	hello -feed URL -key update.pub     update if a newer version is on offer, then greet
//	hello -s3 s3://bucket/prefix [-s3-endpoint URL] -key update.pub
//	                                    the same from a bucket (AWS_* credentials)
//	hello -github OWNER/REPO [-github-api URL] -key cosign.pub
//	                                    the same from GitHub releases (GITHUB_TOKEN if set)
//	hello ... -report URL               also report each step to a package server's
//	                                    events endpoint (pkgserver serve -db: URL/events)
//	hello ... -machine NAME -labels a,b name this machine in reports (default: the host
//	                                    name) and the groups it is in, for pins
//
// Build it with its version set at link time:
//
//	go build -ldflags "-X main.version=1.1.0" ./examples/hello
//
// On a failed update it prints the error and goes on as the old version.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/molt-go/update/delta"

	update "github.com/molt-go/update"
	"github.com/molt-go/update/report"
	"github.com/molt-go/update/source"
	"github.com/molt-go/update/verify"
)

var version = "0.0.0"

// machine and labels are set by -machine and -labels.
var (
	machine string
	labels  []string
)

func main() {
	// Answer the updater's probe before anything else, so a staged copy of
	// this program can tell the updater its version.
	update.AnswerProbe(version)

	showVersion := flag.Bool("version", false, "print the version and exit")
	keyFile := flag.String("key", "", "PEM public key the releases are signed with (update.pub or cosign.pub)")
	stateDir := flag.String("state", "", "state directory (default: the user config dir)")
	quiet := flag.Bool("q", false, "do not print the steps of an update")
	reportURL := flag.String("report", "", "URL to POST update events to, such as http://127.0.0.1:8080/events")
	forget := flag.String("forget", "", "offer this release again although it failed here before")
	patches := flag.Bool("delta", false, "fetch a release as a binary patch from this one when the feed offers one")
	flag.StringVar(&machine, "machine", "", "name of this machine in reports (default: the host name)")
	flag.Func("labels", "comma list of groups this machine is in (canary, eu-west), which pins can name", func(s string) error {
		// Spaces around a label and empty ones are dropped: a pin names
		// a label exactly, and the package server refuses such labels.
		labels = nil
		for _, l := range strings.Split(s, ",") {
			if l = strings.TrimSpace(l); l != "" {
				labels = append(labels, l)
			}
		}
		return nil
	})
	flag.Parse()

	if *showVersion {
		fmt.Println(version)
		return
	}
	src, err := chosenSource()
	if err != nil {
		fmt.Fprintln(os.Stderr, "hello:", err)
		os.Exit(2)
	}
	if src != nil {
		send, flush := reporter(*reportURL)
		if err := selfUpdate(src, *keyFile, *stateDir, *forget, *patches, *quiet, send); err != nil {
			fmt.Fprintln(os.Stderr, "hello: update failed:", err)
		}
		flush()
	}
	fmt.Printf("hello %s\n", version)
}

func selfUpdate(src source.Source, keyFile, stateDir, forget string, patches, quiet bool, send func(update.Event)) error {
	pem, err := os.ReadFile(keyFile)
	if err != nil {
		return fmt.Errorf("reading the public key: %w", err)
	}
	keys, err := verify.Signature(pem)
	if err != nil {
		return err
	}
	bar := &progressLine{w: os.Stderr} // on stderr, so stdout carries only the greeting
	var patcher update.Patcher
	if patches {
		patcher = delta.Patcher{}
	}
	u, err := update.New(update.Options{
		Patcher:  patcher,
		App:      "hello",
		Version:  version,
		Source:   src,
		Verifier: keys,
		StateDir: stateDir,
		Machine:  machine,
		Labels:   labels,
		Logger:   discardLogger(),
		OnEvent: func(ev update.Event) {
			send(ev)
			if !quiet {
				printEvent(ev)
			}
		},
		Progress: func(p update.Progress) {
			if !quiet {
				bar.show(p)
			}
		},
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if forget != "" {
		if had, err := u.Forget(forget); err != nil {
			return err
		} else if had && !quiet {
			fmt.Fprintf(os.Stderr, "  %s is offered again\n", forget)
		}
	}
	// This version got this far, so it works: confirm it if an earlier run
	// installed it (a no-op otherwise).
	if err := u.Confirm(ctx); err != nil {
		return err
	}
	res, err := u.Check(ctx) // re-executes into the new version on success
	if err != nil {
		return err
	}
	for _, sk := range res.Skipped {
		fmt.Fprintf(os.Stderr, "  skipped %s: %s (since %s; -forget %s offers it again)\n", sk.Version, sk.Why, sk.Since.Format(time.RFC3339), sk.Version)
	}
	if !res.Updated && !quiet {
		fmt.Fprintf(os.Stderr, "  up to date (%s)\n", version)
	}
	return nil
}

func printEvent(ev update.Event) {
	status := "ok"
	if ev.Err != nil {
		status = "failed: " + ev.Err.Error()
	}
	to := ""
	if ev.To != "" {
		to = " -> " + ev.To
	}
	if ev.Patch {
		status += fmt.Sprintf(" (a patch: %d bytes saved)", ev.Saved)
	}
	fmt.Fprintf(os.Stderr, "  %-8s %s%s  %v  %s\n", ev.Step, ev.From, to, ev.Duration().Round(time.Millisecond), status)
}

// reportWait bounds how long hello waits for its events to reach the
// server before it exits or re-executes: reporting must never hold it up.
const reportWait = 2 * time.Second

// reporter returns a function that reports an update event to url in the
// background, and one that sends what is left before the program exits.
// With no url both do nothing.
func reporter(url string) (send func(update.Event), flush func()) {
	if url == "" {
		return func(update.Event) {}, func() {}
	}
	r := &report.Reporter{URL: url, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	wait := func(f func(context.Context) error) {
		ctx, cancel := context.WithTimeout(context.Background(), reportWait)
		defer cancel()
		f(ctx)
	}
	send = func(ev update.Event) {
		r.Report(wireEvent(ev))
		if ev.Step == update.StepRestart {
			// The updater re-executes right after this event: what is
			// not sent now never is.
			wait(r.Flush)
		}
	}
	return send, func() { wait(r.Close) }
}

// wireEvent is ev as it goes to the package server.
func wireEvent(ev update.Event) report.Event {
	out := report.Event{App: ev.App, Machine: ev.Machine, Step: ev.Step, Start: ev.Start, End: ev.End, From: ev.From, To: ev.To, Bytes: ev.Bytes,
		Labels: ev.Labels, InstallID: ev.InstallID}
	if ev.Err != nil {
		out.Error = ev.Err.Error()
	}
	return out
}
