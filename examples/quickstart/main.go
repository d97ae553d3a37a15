// Command quickstart is the README's quick start as a program: it keeps
// itself up to date from a signed feed, then does its work (it greets).
//
//	go build -ldflags "-X main.version=1.2.3" ./examples/quickstart
//	quickstart -feed https://updates.example.com/hello/
//
// update.pub is the public half of the key the feed is signed with
// (pkgserver keygen writes one); the program pins it at build time.
// Replace it with yours. A failed update is logged and the program goes
// on as the version it is.
//
// It imports only the core packages (update, source/feed, verify), so it
// is also the program whose weight bench/weight measures and
// e2e/weight_test.go guards.
package main

import (
	"context"
	_ "embed"
	"flag"
	"fmt"
	"log"
	"time"

	update "github.com/molt-go/update"
	"github.com/molt-go/update/source/feed"
	"github.com/molt-go/update/verify"
)

//go:embed update.pub
var publicKey []byte

// version is set at build time: go build -ldflags "-X main.version=1.2.3".
// Left empty, the module's version is used, and a build from a checkout
// is a development build that never updates itself.
var version string

func main() {
	feedURL := flag.String("feed", "https://updates.example.com/hello/", "URL of the signed feed")
	flag.Parse()

	// New comes first, before any work: it answers the probe an updater
	// runs on a staged copy of this program (see update.ProbeEnv).
	u, err := update.New(update.Options{
		App:      "hello",
		Version:  version,
		Source:   feed.New(*feedURL),
		Verifier: verify.MustSignature(publicKey),
	})
	if err != nil {
		log.Fatal(err) // a mistake in the options: fix the program
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// This version got this far, so it works: keep it if an earlier run
	// installed it (a no-op otherwise).
	if err := u.Confirm(ctx); err != nil {
		log.Print(err)
	}
	// Find, download, verify, install, re-exec: on success Check does not
	// return. On failure the old version goes on.
	if _, err := u.Check(ctx); err != nil {
		log.Print(err)
	}
	// A daemon would rather: go u.Watch(ctx, 10*time.Minute)

	fmt.Printf("hello %s\n", version)
}
