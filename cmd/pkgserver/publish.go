package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/molt-go/update/cmd/internal/storeurl"
	"github.com/molt-go/update/server"
	"github.com/molt-go/update/source/feed"
	"github.com/molt-go/update/source/s3"
)

// publish signs a folder of release files and uploads them, feed last, to
// a bucket or a folder that a static web server serves.
//
//	pkgserver publish -dir DIR -key update.key -to s3://bucket/prefix [-endpoint URL] [-region R]
//	pkgserver publish -dir DIR -key update.key -to file:///srv/www/releases
//
// S3 credentials come from the AWS SDK's default chain (AWS_ACCESS_KEY_ID
// and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, instance roles). Interrupting it
// (Ctrl-C) stops the upload and leaves the previous feed in place.
func publish(args []string) error {
	fs := flag.NewFlagSet("publish", flag.ExitOnError)
	dir := fs.String("dir", ".", "folder of release files, named <app>-<version>-<os>-<arch>[.exe|.tar.gz|.zip]")
	keyFile := fs.String("key", "update.key", "private key (PEM) to sign feeds with")
	to := fs.String("to", "", "where to publish: s3://bucket/prefix or file:///path")
	endpoint := fs.String("endpoint", "", "URL of an S3-compatible store (addressed path-style); default AWS")
	region := fs.String("region", "", "S3 region; default AWS_REGION or the shared config, else "+s3.DefaultRegion)
	lifetime := fs.Duration("lifetime", server.DefaultLifetime, "how long the feeds stay valid; publish again before then")
	app := fs.String("app", "", "publish only this app (default: every app in -dir)")
	overwrite := fs.Bool("overwrite", false, "publish over a current feed that the key does not verify")
	patches := addPatchFlags(fs)
	fs.Parse(args)
	if *to == "" || fs.NArg() > 0 {
		return errors.New("publish: -to s3://bucket/prefix or -to file:///path is required (and no other arguments)")
	}
	signer, err := loadSigner(*keyFile)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	store, base, err := openStore(ctx, *to, *endpoint, *region)
	if err != nil {
		return err
	}
	o := server.PublishOptions{
		Lifetime:  *lifetime,
		Overwrite: *overwrite,
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, nil)),

		Patches:          *patches.n,
		PatchMaxFraction: *patches.fraction,
		PatchDir:         *patches.dir,
	}
	if *app != "" {
		o.Apps = []string{*app}
	}
	// A key list (pkgserver key issue) goes up before the feeds it vouches
	// for, so a client never sees a feed signed by a key it cannot check.
	if _, err := os.Stat(filepath.Join(*dir, feed.KeysFile)); err == nil {
		if _, err := server.PublishKeyList(ctx, *dir, store, o.Apps); err != nil {
			return err
		}
	}
	res, err := server.Publish(ctx, *dir, signer, store, o)
	for _, p := range res {
		fmt.Printf("published %s: serial %d, %d releases, %d files uploaded, %d unchanged, expires %s: %s/%s/feed.json\n",
			p.App, p.Serial, p.Releases, len(p.Uploaded), len(p.Skipped), p.Expires.Format("2006-01-02 15:04 MST"), base, p.App)
	}
	if err != nil {
		return fmt.Errorf("%w (the previous feed, if any, is still in place)", err)
	}
	return nil
}

// openStore returns the Store that -to names, and its root for messages:
// s3://bucket/prefix, file:///path or a folder (storeurl, which runner
// shares).
func openStore(ctx context.Context, to, endpoint, region string) (server.Store, string, error) {
	return storeurl.Open(ctx, to, storeurl.Options{Endpoint: endpoint, Region: region})
}
