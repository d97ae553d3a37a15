package update_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"time"

	update "github.com/molt-go/update"
	"github.com/molt-go/update/restart"
	"github.com/molt-go/update/source/feed"
	"github.com/molt-go/update/verify"
)

// publish signs a feed with one release of "hello" and serves it, and the
// file, on a loopback port, as the reference server would. It returns the
// feed URL, the public key a program pins, and a cleanup function.
func publish(version string, body []byte) (url string, pub []byte, cleanup func()) {
	name := fmt.Sprintf("hello-%s-%s-%s", version, runtime.GOOS, runtime.GOARCH)
	sum := sha256.Sum256(body)
	priv, pub, _ := feed.GenerateKey()
	signer, _ := feed.LoadSigner(priv)
	now := time.Now()
	signed, err := feed.Sign(&feed.Payload{
		App: "hello", Serial: now.Unix(), Issued: now, Expires: now.Add(time.Hour),
		Releases: []feed.Release{{Version: version, Assets: []feed.Asset{{
			Name: name, OS: runtime.GOOS, Arch: runtime.GOARCH,
			Size: int64(len(body)), SHA256: hex.EncodeToString(sum[:]), URL: name,
		}}}},
	}, signer)
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/hello/feed.json", func(w http.ResponseWriter, _ *http.Request) { w.Write(signed) })
	mux.HandleFunc("/hello/"+name, func(w http.ResponseWriter, _ *http.Request) { w.Write(body) })
	hs := httptest.NewServer(mux)
	return hs.URL + "/hello/", pub, hs.Close
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// Find looks without installing anything.
func ExampleUpdater_Find() {
	url, pub, cleanup := publish("1.1.0", []byte("new program"))
	defer cleanup()
	state, _ := os.MkdirTemp("", "example-state-")
	defer os.RemoveAll(state)
	keys, err := verify.Signature(pub)
	if err != nil {
		panic(err)
	}
	u, err := update.New(update.Options{
		App:      "hello",
		Version:  "1.0.0",
		Source:   feed.New(url),
		Verifier: keys,
		StateDir: state,
		Logger:   quiet,
	})
	if err != nil {
		panic(err)
	}
	res, err := u.Find(context.Background())
	if err != nil {
		panic(err)
	}
	fmt.Println("running", res.From, "- found", res.To, "in", res.Asset.Name[:len("hello-1.1.0")])
	// Output: running 1.0.0 - found 1.1.0 in hello-1.1.0
}

// Check finds, downloads, verifies and installs; here into a plain file
// and without restarting, so the example can show the result.
func ExampleUpdater_Check() {
	url, pub, cleanup := publish("1.1.0", []byte("new program"))
	defer cleanup()
	dir, _ := os.MkdirTemp("", "example-target-")
	defer os.RemoveAll(dir)
	target := filepath.Join(dir, "hello")
	os.WriteFile(target, []byte("old program"), 0o755)

	keys, _ := verify.Signature(pub)
	u, err := update.New(update.Options{
		App:       "hello",
		Version:   "1.0.0",
		Source:    feed.New(url),
		Verifier:  keys,
		Target:    target,
		StateDir:  filepath.Join(dir, "state"),
		Restarter: restart.None{}, // the default, restart.Exec, would re-execute
		SkipProbe: true,           // the "program" here is text, it cannot answer
		Logger:    quiet,
		OnEvent: func(ev update.Event) {
			fmt.Println(ev.Step, ev.Err == nil)
		},
	})
	if err != nil {
		panic(err)
	}
	res, err := u.Check(context.Background())
	if err != nil {
		panic(err)
	}
	data, _ := os.ReadFile(target)
	fmt.Printf("updated %s -> %s: %v, target holds %q\n", res.From, res.To, res.Updated, data)
	// Output:
	// find true
	// download true
	// verify true
	// apply true
	// restart true
	// updated 1.0.0 -> 1.1.0: true, target holds "new program"
}
