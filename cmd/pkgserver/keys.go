package main

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/molt-go/update/internal/atomicfile"
	"github.com/molt-go/update/server"
	"github.com/molt-go/update/source/feed"
)

// The key hierarchy's ceremony (see the feed package's documentation):
//
//	pkgserver root init -out DIR [-n 1 -threshold 1] [-dir RELEASES]
//	    makes the root key(s) DIR/root.key (offline!) and DIR/root.pub (pin
//	    it: feed.MustRoots), and the first key list, RELEASES/keys.json
//	pkgserver key issue -root ROOT.key -dir RELEASES -expires 720h -out signing.key
//	pkgserver key issue -root ROOT.key -dir RELEASES -expires 720h -pub signing.pub
//	    lists a new signing key (made here, or one made on the server whose
//	    public key was carried over) in RELEASES/keys.json
//	pkgserver key revoke -root ROOT.key -dir RELEASES -id KEYID
//	pkgserver root rotate -root OLD.key -dir RELEASES -out NEWDIR [-n 1 -threshold 1]
//	pkgserver key list -dir RELEASES
//	pkgserver key publish -dir RELEASES -to s3://bucket/prefix|file:///path
//
// -root may be given several times, for a threshold of roots. A root key
// encrypted by cosign generate-key-pair is read with COSIGN_PASSWORD.

// rootCmd runs pkgserver root SUBCOMMAND.
func rootCmd(args []string) error {
	if len(args) == 0 {
		return errors.New("root: want init or rotate")
	}
	switch args[0] {
	case "init":
		return rootInit(args[1:], os.Stdout)
	case "rotate":
		return rootRotate(args[1:], os.Stdout)
	}
	return fmt.Errorf("root: unknown command %q (init, rotate)", args[0])
}

// keyCmd runs pkgserver key SUBCOMMAND.
func keyCmd(args []string) error {
	if len(args) == 0 {
		return errors.New("key: want issue, revoke, list or publish")
	}
	switch args[0] {
	case "issue":
		return keyIssue(args[1:], os.Stdout)
	case "revoke":
		return keyRevoke(args[1:], os.Stdout)
	case "list":
		return keyList(args[1:], os.Stdout)
	case "publish":
		return keyPublish(args[1:], os.Stdout)
	}
	return fmt.Errorf("key: unknown command %q (issue, revoke, list, publish)", args[0])
}

// files is a flag given several times.
type files []string

func (f *files) String() string     { return strings.Join(*f, ",") }
func (f *files) Set(s string) error { *f = append(*f, s); return nil }

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected arguments %q", fs.Name(), fs.Args())
	}
	return nil
}

func rootInit(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("root init", flag.ContinueOnError)
	outDir := fs.String("out", "", "folder for the root key(s) and root.pub (keep it offline)")
	n := fs.Int("n", 1, "how many root keys to make")
	threshold := fs.Int("threshold", 1, "how many root keys must sign a key list or a rotation")
	dir := fs.String("dir", "", "release folder to write keys.json into (default: -out)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *outDir == "" {
		return errors.New("root init: -out DIR is required")
	}
	if *dir == "" {
		*dir = *outDir
	}
	roots, err := makeRoots(*outDir, *n, out)
	if err != nil {
		return err
	}
	kf, err := feed.NewKeyFile(*threshold, roots...)
	if err != nil {
		return err
	}
	body, err := kf.Sign(time.Now(), roots...)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(*dir, feed.KeysFile)
	// Never over a hierarchy that programs may already trust.
	if err := writeNew(path, body, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %s (version 1, no signing keys yet: pkgserver key issue)\n", path)
	fmt.Fprintf(out, "pin %s in your program: feed.NewRoots(%d, rootPEM) (feed.MustRoots for one root)\n",
		filepath.Join(*outDir, "root.pub"), *threshold)
	return nil
}

// makeRoots writes n new root keys into dir, root.key (or root-1.key ...)
// and root.pub with every public key, and returns their signers.
func makeRoots(dir string, n int, out io.Writer) ([]*feed.Signer, error) {
	if n < 1 || n > 8 {
		return nil, fmt.Errorf("-n %d: from 1 to 8 root keys", n)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	var signers []*feed.Signer
	var pubs []byte
	for i := range n {
		priv, pub, err := feed.GenerateKey()
		if err != nil {
			return nil, err
		}
		name := "root.key"
		if n > 1 {
			name = fmt.Sprintf("root-%d.key", i+1)
		}
		if err := writeNew(filepath.Join(dir, name), priv, 0o600); err != nil {
			return nil, err
		}
		s, err := feed.LoadSigner(priv)
		if err != nil {
			return nil, err
		}
		signers = append(signers, s)
		pubs = append(pubs, pub...)
		fmt.Fprintf(out, "wrote root key %s (id %s)\n", filepath.Join(dir, name), s.KeyID())
	}
	if err := writeNew(filepath.Join(dir, "root.pub"), pubs, 0o644); err != nil {
		return nil, err
	}
	return signers, nil
}

func rootRotate(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("root rotate", flag.ContinueOnError)
	var old files
	fs.Var(&old, "root", "a current root key (repeat for a threshold)")
	dir := fs.String("dir", ".", "release folder holding keys.json")
	outDir := fs.String("out", "", "folder for the new root key(s) and root.pub")
	n := fs.Int("n", 1, "how many new root keys")
	threshold := fs.Int("threshold", 1, "how many new root keys must sign")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *outDir == "" || len(old) == 0 {
		return errors.New("root rotate: -root OLD.key and -out NEWDIR are required")
	}
	kf, path, err := readKeyFile(*dir)
	if err != nil {
		return err
	}
	oldSigners, err := loadRoots(old)
	if err != nil {
		return err
	}
	next, err := makeRoots(*outDir, *n, out)
	if err != nil {
		return err
	}
	if err := kf.RotateRoots(*threshold, oldSigners, next); err != nil {
		return err
	}
	if err := signAndWrite(kf, path, next, out); err != nil {
		return err
	}
	fmt.Fprintf(out, "rotated to root set %d: programs pinning the old roots follow the chain; pin %s in programs built from now on, and retire the old root keys\n",
		kf.Roots().Version, filepath.Join(*outDir, "root.pub"))
	return nil
}

func keyIssue(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("key issue", flag.ContinueOnError)
	var roots files
	fs.Var(&roots, "root", "a root key (repeat for a threshold)")
	dir := fs.String("dir", ".", "release folder holding keys.json")
	expires := fs.Duration("expires", 720*time.Hour, "how long the signing key is trusted; issue the next before then")
	outKey := fs.String("out", "", "write a new signing key here (and its .pub beside it)")
	pubFile := fs.String("pub", "", "list this public key instead (made where it will sign, so the private key never travels)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if len(roots) == 0 || (*outKey == "") == (*pubFile == "") || *expires <= 0 {
		return errors.New("key issue: -root ROOT.key, a positive -expires and one of -out signing.key or -pub signing.pub are required")
	}
	kf, path, err := readKeyFile(*dir)
	if err != nil {
		return err
	}
	signers, err := loadRoots(roots)
	if err != nil {
		return err
	}
	var pub, priv []byte
	if *pubFile != "" {
		if pub, err = os.ReadFile(*pubFile); err != nil {
			return err
		}
	} else if priv, pub, err = feed.GenerateKey(); err != nil {
		return err
	}
	now := time.Now()
	// Keys long expired only made the list longer; recent ones stay, so
	// that clients say "expired" rather than "not listed".
	for _, id := range kf.Prune(now.Add(-30 * 24 * time.Hour)) {
		fmt.Fprintf(out, "dropped key %s, expired for over 30 days\n", id)
	}
	k, err := kf.AddKey(pub, now.Add(*expires))
	if err != nil {
		return err
	}
	body, err := kf.Sign(now, signers...)
	if err != nil {
		return err
	}
	// The private key first: a listed key nobody holds is harmless, a
	// key made and then not listed is a surprise.
	if priv != nil {
		if err := writeNew(*outKey, priv, 0o600); err != nil {
			return err
		}
		if err := writeNew(strings.TrimSuffix(*outKey, ".key")+".pub", pub, 0o644); err != nil {
			return err
		}
	}
	if err := atomicfile.WriteFile(path, body, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %s (version %d)\n", path, kf.List().Version)
	fmt.Fprintf(out, "issued signing key %s (epoch %d), trusted until %s\n", k.ID, k.Since, k.Expires.Format(time.RFC3339))
	fmt.Fprintln(out, "serve or publish keys.json before feeds signed by the new key (pkgserver key publish for a static host)")
	return nil
}

func keyRevoke(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("key revoke", flag.ContinueOnError)
	var roots files
	fs.Var(&roots, "root", "a root key (repeat for a threshold)")
	dir := fs.String("dir", ".", "release folder holding keys.json")
	id := fs.String("id", "", "the key id to revoke (or a unique prefix of 8 or more digits)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if len(roots) == 0 || len(*id) < 8 {
		return errors.New("key revoke: -root ROOT.key and -id KEYID (8 digits or more) are required")
	}
	kf, path, err := readKeyFile(*dir)
	if err != nil {
		return err
	}
	signers, err := loadRoots(roots)
	if err != nil {
		return err
	}
	var match []string
	for _, k := range kf.List().Keys {
		if strings.HasPrefix(k.ID, strings.ToLower(*id)) {
			match = append(match, k.ID)
		}
	}
	if len(match) != 1 {
		return fmt.Errorf("key revoke: %d listed keys match %q", len(match), *id)
	}
	if err := kf.Revoke(match[0]); err != nil {
		return err
	}
	if err := signAndWrite(kf, path, signers, out); err != nil {
		return err
	}
	fmt.Fprintf(out, "revoked %s; sign feeds with another listed key (a stolen key: issue a new one, whose newer epoch also undoes any counter the thief pushed up)\n", match[0])
	return nil
}

func keyList(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("key list", flag.ContinueOnError)
	dir := fs.String("dir", ".", "release folder holding keys.json")
	if err := parse(fs, args); err != nil {
		return err
	}
	kf, path, err := readKeyFile(*dir)
	if err != nil {
		return err
	}
	l, rs := kf.List(), kf.Roots()
	fmt.Fprintf(out, "%s: version %d, issued %s\n", path, l.Version, l.Issued.Format(time.RFC3339))
	fmt.Fprintf(out, "roots (set %d, %d of %d must sign):\n", rs.Version, rs.Threshold, len(rs.Keys))
	for _, k := range rs.Keys {
		fmt.Fprintf(out, "  %s\n", k.ID)
	}
	fmt.Fprintln(out, "signing keys:")
	now := time.Now()
	for _, k := range l.Keys {
		state := "valid"
		if !now.Before(k.Expires) {
			state = "EXPIRED"
		}
		fmt.Fprintf(out, "  %s  epoch %d  until %s  %s\n", k.ID, k.Since, k.Expires.Format(time.RFC3339), state)
	}
	for _, id := range l.Revoked {
		fmt.Fprintf(out, "  %s  REVOKED\n", id)
	}
	return nil
}

func keyPublish(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("key publish", flag.ContinueOnError)
	dir := fs.String("dir", ".", "release folder holding keys.json")
	to := fs.String("to", "", "where to publish: s3://bucket/prefix or file:///path")
	endpoint := fs.String("endpoint", "", "URL of an S3-compatible store")
	region := fs.String("region", "", "S3 region")
	app := fs.String("app", "", "publish beside this app's feed only (default: every app in -dir)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *to == "" {
		return errors.New("key publish: -to s3://bucket/prefix or -to file:///path is required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	store, base, err := openStore(ctx, *to, *endpoint, *region)
	if err != nil {
		return err
	}
	var apps []string
	if *app != "" {
		apps = []string{*app}
	}
	v, err := server.PublishKeyList(ctx, *dir, store, apps)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "published key list version %d to %s\n", v, base)
	return nil
}

func readKeyFile(dir string) (*feed.KeyFile, string, error) {
	path := filepath.Join(dir, feed.KeysFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("%w (pkgserver root init makes the first)", err)
	}
	kf, err := feed.ReadKeyFile(data)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	return kf, path, nil
}

func signAndWrite(kf *feed.KeyFile, path string, roots []*feed.Signer, out io.Writer) error {
	body, err := kf.Sign(time.Now(), roots...)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, body, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %s (version %d)\n", path, kf.List().Version)
	return nil
}

func loadRoots(paths []string) ([]*feed.Signer, error) {
	var out []*feed.Signer
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var s *feed.Signer
		if b, _ := pem.Decode(data); b != nil && strings.Contains(b.Type, "ENCRYPTED") {
			s, err = server.LoadEncryptedSigner(data, []byte(os.Getenv("COSIGN_PASSWORD")))
		} else {
			s, err = feed.LoadSigner(bytes.TrimSpace(data))
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// writeNew writes a file that must not exist yet.
func writeNew(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
