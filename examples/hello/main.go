// Command hello is a CLI that updates itself at startup.
//
//	hello -version                      print the bare version and exit
//	hello -feed URL -key update.pub     update if a newer version is on offer, then greet
//	hello -s3 s3://bucket/prefix [-s3-endpoint URL] -key update.pub
//	                                    the same from a bucket (AWS_* credentials)
//	hello -github OWNER/REPO [-github-api URL] -key cosign.pub
//	                                    the same from GitHub releases (GITHUB_TOKEN if set)
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
	"os"
	"time"

	"github.com/schollz/progressbar/v3"

	update "github.com/molt-go/update"
	"github.com/molt-go/update/source"
	"github.com/molt-go/update/verify"
)

var version = "0.0.0"

func main() {
	// Answer the updater's probe before anything else, so a staged copy of
	// this program can tell the updater its version.
	update.AnswerProbe(version)

	showVersion := flag.Bool("version", false, "print the version and exit")
	keyFile := flag.String("key", "", "PEM public key the releases are signed with (update.pub or cosign.pub)")
	stateDir := flag.String("state", "", "state directory (default: the user config dir)")
	quiet := flag.Bool("q", false, "do not print the steps of an update")
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
		if err := selfUpdate(src, *keyFile, *stateDir, *quiet); err != nil {
			fmt.Fprintln(os.Stderr, "hello: update failed:", err)
		}
	}
	fmt.Printf("hello %s\n", version)
}

func selfUpdate(src source.Source, keyFile, stateDir string, quiet bool) error {
	pem, err := os.ReadFile(keyFile)
	if err != nil {
		return fmt.Errorf("reading the public key: %w", err)
	}
	keys, err := verify.Signature(pem)
	if err != nil {
		return err
	}
	var bar *progressbar.ProgressBar
	u, err := update.New(update.Options{
		App:      "hello",
		Version:  version,
		Source:   src,
		Verifier: keys,
		StateDir: stateDir,
		Logger:   discardLogger(),
		OnEvent: func(ev update.Event) {
			if quiet {
				return
			}
			printEvent(ev)
		},
		Progress: func(p update.Progress) {
			if quiet || p.Total <= 0 {
				return
			}
			if bar == nil {
				// On stderr, so stdout carries only the greeting.
				bar = progressbar.NewOptions64(p.Total,
					progressbar.OptionSetWriter(os.Stderr),
					progressbar.OptionSetDescription("  download "+p.Asset),
					progressbar.OptionShowBytes(true),
					progressbar.OptionSetWidth(20),
					progressbar.OptionThrottle(100*time.Millisecond),
					progressbar.OptionOnCompletion(func() { fmt.Fprintln(os.Stderr) }))
			}
			bar.Set64(p.Bytes)
		},
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// This version got this far, so it works: confirm it if an earlier run
	// installed it (a no-op otherwise).
	if err := u.Confirm(ctx); err != nil {
		return err
	}
	res, err := u.Check(ctx) // re-executes into the new version on success
	if err != nil {
		return err
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
	fmt.Fprintf(os.Stderr, "  %-8s %s%s  %v  %s\n", ev.Step, ev.From, to, ev.Duration().Round(time.Millisecond), status)
}
