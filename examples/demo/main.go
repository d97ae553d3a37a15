// Command demo shows molt's main job in one command:
//
//	go run ./examples/demo
//
// It builds examples/hello at 1.0.0 and 1.1.0 into a temporary folder,
// starts the reference package server in this process with a fresh key,
// publishes 1.1.0, runs the old hello, and shows it updating itself to the
// new one step by step. Then it cleans up.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/molt-go/update/server"

	"github.com/molt-go/update/source/feed"
)

const helloPkg = "github.com/molt-go/update/examples/hello"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() error {
	work, err := os.MkdirTemp("", "molt-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	releases, bin, state := filepath.Join(work, "releases"), filepath.Join(work, "bin"), filepath.Join(work, "state")
	for _, d := range []string{releases, bin} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	exe := ""
	if runtime.GOOS == "windows" {
		exe = ".exe"
	}
	installed := filepath.Join(bin, "hello"+exe)
	published := filepath.Join(releases, fmt.Sprintf("hello-1.1.0-%s-%s%s", runtime.GOOS, runtime.GOARCH, exe))

	say("1. build hello 1.0.0 (installed) and 1.1.0 (published)")
	if err := build("1.0.0", installed); err != nil {
		return err
	}
	if err := build("1.1.0", published); err != nil {
		return err
	}

	say("2. make a signing key and serve %s as a signed feed", releases)
	priv, pub, err := feed.GenerateKey()
	if err != nil {
		return err
	}
	pubFile := filepath.Join(work, "update.pub")
	if err := os.WriteFile(pubFile, pub, 0o644); err != nil {
		return err
	}
	signer, err := feed.LoadSigner(priv)
	if err != nil {
		return err
	}
	srv, err := server.New(server.Options{Dir: releases, Signer: signer, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	defer hs.Shutdown(context.Background())
	feedURL := "http://" + ln.Addr().String() + "/hello/"
	say("   feed at %s (key %s)", feedURL, signer.KeyID()[:16])

	before, err := sum(installed)
	if err != nil {
		return err
	}
	say("3. run the installed hello 1.0.0; it finds 1.1.0, downloads, verifies, installs and re-executes")
	cmd := exec.Command(installed, "-feed", feedURL, "-key", pubFile, "-state", state)
	cmd.Stdout, cmd.Stderr = indent(os.Stdout), indent(os.Stderr)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("hello: %w", err)
	}

	after, err := sum(installed)
	if err != nil {
		return err
	}
	out, err := exec.Command(installed, "-version").Output()
	if err != nil {
		return err
	}
	say("4. the file on disk is now %s (sha256 %x -> %x)", strings.TrimSpace(string(out)), before[:6], after[:6])
	if strings.TrimSpace(string(out)) != "1.1.0" {
		return errors.New("the update did not happen")
	}
	say("5. run it again: already up to date")
	cmd = exec.Command(installed, "-feed", feedURL, "-key", pubFile, "-state", state)
	cmd.Stdout, cmd.Stderr = indent(os.Stdout), indent(os.Stderr)
	if err := cmd.Run(); err != nil {
		return err
	}
	say("done; removing %s", work)
	return nil
}

func build(version, out string) error {
	cmd := exec.Command("go", "build", "-ldflags", "-X main.version="+version, "-o", out, helloPkg)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building hello %s: %w", version, err)
	}
	return nil
}

func sum(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := sha256.Sum256(data)
	return s[:], nil
}

func say(format string, args ...any) { fmt.Printf("demo: "+format+"\n", args...) }

// indent prefixes hello's lines so they stand apart from the demo's own.
func indent(w io.Writer) io.Writer { return &prefixWriter{w: w, bol: true} }

type prefixWriter struct {
	w   io.Writer
	bol bool
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	var out bytes.Buffer
	for _, c := range b {
		if p.bol {
			out.WriteString("   | ")
		}
		out.WriteByte(c)
		p.bol = c == '\n'
	}
	_, err := p.w.Write(out.Bytes())
	return len(b), err
}
