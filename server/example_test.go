package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/molt-go/update/server"

	"github.com/molt-go/update/source/feed"
	"github.com/molt-go/update/verify"
)

// Serve a folder of built files as a signed feed, and read it back as a
// program would, with the public key it pins.
func Example() {
	dir, _ := os.MkdirTemp("", "releases")
	defer os.RemoveAll(dir)
	for _, name := range []string{
		"hello-1.0.0-linux-amd64",
		"hello-1.1.0-linux-amd64",
		"hello-1.1.0-windows-amd64.zip",
		"hello-1.2.0-rc.1-linux-amd64",
		"README.md", // not a release file: ignored
	} {
		os.WriteFile(filepath.Join(dir, name), []byte("contents of "+name), 0o644)
	}

	// The publisher's side.
	privatePEM, publicPEM, _ := feed.GenerateKey()
	signer, _ := feed.LoadSigner(privatePEM)
	srv, err := server.New(server.Options{
		Dir:    dir,
		Signer: signer,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()

	// The program's side.
	keys := verify.MustSignature(publicPEM)
	listing, err := feed.New(ts.URL+"/hello").Releases(context.Background(), keys)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("app:", listing.App)
	for _, r := range listing.Releases {
		fmt.Println(r.Version)
		for _, a := range r.Assets {
			fmt.Printf("  %s %s/%s %d bytes\n", a.Name, a.OS, a.Arch, a.Size)
		}
	}
	// Output:
	// app: hello
	// 1.2.0-rc.1
	//   hello-1.2.0-rc.1-linux-amd64 linux/amd64 40 bytes
	// 1.1.0
	//   hello-1.1.0-linux-amd64 linux/amd64 35 bytes
	//   hello-1.1.0-windows-amd64.zip windows/amd64 41 bytes
	// 1.0.0
	//   hello-1.0.0-linux-amd64 linux/amd64 35 bytes
}
