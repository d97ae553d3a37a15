// Command pkgserver is the reference package server: it serves a folder of
// release files as signed feeds.
//
//	pkgserver keygen -out DIR
//	    writes DIR/update.key (private, keep it secret) and DIR/update.pub
//	    (public, pin it in your program)
//	pkgserver serve -dir DIR -addr 127.0.0.1:8080 -key DIR/update.key
//	    serves every app in DIR at http://127.0.0.1:8080/<app>/ (feed.json and
//	    the files), plus gupper's /list and /download/<name>
//	pkgserver serve ... -db deployments.db (or -db postgres://user@host/db)
//	    also takes the update events programs report (POST /events) and shows
//	    them as a history of deployments at /deployments (JSON at
//	    /api/deployments); apps named events, deployments, fleet or api are then
//	    shadowed. The events endpoint has no authentication: serve it only
//	    where your own machines reach it. The fleet view, /fleet (JSON at
//	    /api/fleet), shows per app the machines on each version, the
//	    rollouts, halts and pins, and each machine's last report (fleet.go)
//	pkgserver publish -dir DIR -key KEY -to s3://bucket/prefix [-endpoint URL]
//	pkgserver publish -dir DIR -key KEY -to file:///path
//	pkgserver root ... and pkgserver key ...
//	    the key hierarchy: offline roots that sign a list of signing keys
//	    (DIR/keys.json, served beside every feed); see keys.go
//	    signs a feed per app and uploads the files first and the feed last,
//	    skipping files already there with the same sha256; the feed's counter
//	    never goes down
//	pkgserver rollout set|pause|resume|abort -dir DIR -key KEY -app APP -version V ...
//	pkgserver rollout status -dir DIR -app APP [-db FILE|postgres://...]
//	pkgserver pin|unpin -dir DIR -key KEY -app APP -version V (-install-id ID | -label L)
//	    stage a release over a fleet, withdraw it, hold machines at a version
//	    (rollout.go, pin.go); with -db, serve halts a rollout whose release
//	    fails on -halt-min machines and -halt-percent of those that tried it
//
// serve and publish also make binary patches (package delta) from the
// -patches newest earlier releases of each platform (default 3, 0 for
// none), skip those not smaller than -patch-max-fraction of the full file,
// cache them in DIR/.patches (-patch-dir) and list them in the feed.
//
// Files in DIR are named <app>-<version>-<os>-<arch>[.exe], or the same with
// .tar.gz or .zip holding the binary. Drop a new file in and the next
// request sees it; a file rewritten in place under its old name is seen
// within -relist (1s).
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
	"path/filepath"
	"syscall"
	"time"

	"github.com/molt-go/update/agent/deploylog"
	"github.com/molt-go/update/server"
	"github.com/molt-go/update/server/collect"
	"github.com/molt-go/update/server/pages"
	"github.com/molt-go/update/source/feed"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "keygen":
		err = keygen(os.Args[2:])
	case "serve":
		err = serve(os.Args[2:])
	case "publish":
		err = publish(os.Args[2:])
	case "rollout":
		err = rollout(os.Args[2:])
	case "pin", "unpin":
		err = pin(os.Args[2:], os.Args[1] == "unpin")
	case "root":
		err = rootCmd(os.Args[2:])
	case "key":
		err = keyCmd(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pkgserver:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage:
  pkgserver keygen -out DIR
  pkgserver serve -dir DIR -addr HOST:PORT -key DIR/update.key
  pkgserver publish -dir DIR -key KEY -to s3://bucket/prefix|file:///path [-endpoint URL]
  pkgserver root init -out DIR [-n 1 -threshold 1] [-dir RELEASES]
  pkgserver root rotate -root OLD.key -dir RELEASES -out NEWDIR
  pkgserver key issue -root ROOT.key -dir RELEASES -expires 720h -out signing.key|-pub signing.pub
  pkgserver key revoke -root ROOT.key -dir RELEASES -id KEYID
  pkgserver key list -dir RELEASES
  pkgserver key publish -dir RELEASES -to s3://bucket/prefix|file:///path
  pkgserver rollout set -dir DIR -key KEY -app APP -version V (-percent P | -phases '1%@0h,10%@24h,100%@72h')
  pkgserver rollout pause|resume|abort -dir DIR -key KEY -app APP -version V
  pkgserver rollout status -dir DIR -app APP [-db FILE|postgres://...]
  pkgserver pin|unpin -dir DIR -key KEY -app APP -version V (-install-id ID | -label L)`)
	os.Exit(2)
}

func keygen(args []string) error {
	fs := flag.NewFlagSet("keygen", flag.ExitOnError)
	out := fs.String("out", ".", "folder for update.key and update.pub")
	fs.Parse(args)
	priv, pub, err := feed.GenerateKey()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	keyPath := filepath.Join(*out, "update.key")
	// O_EXCL: never overwrite a key that programs already pin.
	f, err := os.OpenFile(keyPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(priv); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*out, "update.pub"), pub, 0o644); err != nil {
		return err
	}
	fmt.Printf("wrote %s and %s\n", keyPath, filepath.Join(*out, "update.pub"))
	return nil
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	dir := fs.String("dir", ".", "folder of release files")
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	keyFile := fs.String("key", "update.key", "private key (PEM) to sign feeds with")
	dbFile := fs.String("db", "", "deployment log for reported update events: a SQLite file, or a PostgreSQL database as postgres://user@host/db; if empty, none are taken")
	relist := fs.Duration("relist", server.DefaultRelist, "list DIR in full this often even when its modification time says nothing came or went: how soon a file rewritten in place is seen")
	halt := addHaltFlags(fs)
	patches := addPatchFlags(fs)
	fs.Parse(args)

	signer, err := loadSigner(*keyFile)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	srv, err := server.New(server.Options{Dir: *dir, Signer: signer, Logger: log, Relist: *relist,
		Patches: *patches.n, PatchMaxFraction: *patches.fraction, PatchDir: *patches.dir})
	if err != nil {
		return err
	}
	// Patches are made in the background; a shutdown throws away the one
	// being made rather than leave half of it in the cache.
	defer srv.Close()
	// Also DIR/keys.json, for programs that pin roots (keys.go).
	handler, err := srv.WithKeyList()
	if err != nil {
		return err
	}
	if *dbFile != "" {
		store, err := deploylog.Open(context.Background(), *dbFile)
		if err != nil {
			return err
		}
		defer store.Close()
		watched, tally, fleet, err := watchRollouts(context.Background(), srv, store, halt, log)
		if err != nil {
			return err
		}
		handler = withRollouts(withDeployments(handler, watched, fleet, log), *dir, tally, log)
		handler = withFleet(handler, *dir, fleet, tally)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	// Held long-polls (push) end at once, or Shutdown would wait for them.
	hs.RegisterOnShutdown(srv.EndWaits)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		hs.Shutdown(shutdown)
	}()
	// The real address, so that -addr 127.0.0.1:0 can be used and found.
	log.Info("pkgserver: serving", "dir", *dir, "url", "http://"+ln.Addr().String()+"/", "key", signer.KeyID(), "db", deploylog.RedactURL(*dbFile))
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// withDeployments serves the collector and the deployment log beside the
// feeds: their exact patterns first, the feed server for every other path.
func withDeployments(feeds http.Handler, store deploylog.Store, fleet *collect.Fleet, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /events", &collect.Collector{Store: store, Logger: log, Fleet: fleet})
	pages := pages.Handler(store)
	for _, p := range []string{"GET /deployments", "GET /deployments/{id}", "GET /api/deployments", "GET /api/deployments/{id}"} {
		mux.Handle(p, pages)
	}
	mux.Handle("/", feeds)
	return mux
}

func loadSigner(path string) (*feed.Signer, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return feed.LoadSigner(pem)
}

// patchFlags are serve's and publish's flags for binary patches.
type patchFlags struct {
	n        *int
	fraction *float64
	dir      *string
}

func addPatchFlags(fs *flag.FlagSet) patchFlags {
	return patchFlags{
		n:        fs.Int("patches", server.DefaultPatches, "make binary patches from this many earlier releases of each platform; 0 turns patches off"),
		fraction: fs.Float64("patch-max-fraction", server.DefaultPatchMaxFraction, "skip a patch not smaller than this fraction of the full file"),
		dir:      fs.String("patch-dir", "", "patch cache (default DIR/.patches)"),
	}
}
