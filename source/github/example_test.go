package github_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/molt-go/update/source/github"
	"github.com/molt-go/update/verify"
)

// This example lists the releases of a repository through a stand-in for
// the GitHub API. The release has no signed checksums file, so the digest
// comes from GitHub's own, which the program chose to trust.
func Example() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-RateLimit-Limit", "60")
		w.Header().Set("X-RateLimit-Remaining", "58")
		if strings.HasSuffix(r.URL.Path, "/releases/latest") {
			// Asked first on the stable channel; this stand-in has no
			// ETags, so the list is read too.
			w.WriteHeader(http.StatusNotFound)
			return
		}
		fmt.Fprint(w, `[{"tag_name": "v1.2.0", "draft": false, "prerelease": false,
		  "published_at": "2026-01-02T03:04:05Z", "body": "Faster.",
		  "assets": [
		    {"id": 7, "name": "hello_1.2.0_linux_amd64.tar.gz", "state": "uploaded", "size": 1234,
		     "digest": "sha256:2151b604e3429bff440b9fbc03eb3617bc2603cda96c95b9bb05277f9ddba255",
		     "url": "https://api.example/repos/acme/hello/releases/assets/7",
		     "browser_download_url": "https://example/acme/hello/releases/download/v1.2.0/hello_1.2.0_linux_amd64.tar.gz"},
		    {"id": 8, "name": "hello_1.2.0_windows_arm64.zip", "state": "uploaded", "size": 1300,
		     "digest": "sha256:4355a46b19d348dc2f57c046f8ef63d4538ebb936000f3c9ee954a27460dd865",
		     "url": "https://api.example/repos/acme/hello/releases/assets/8",
		     "browser_download_url": "https://example/acme/hello/releases/download/v1.2.0/hello_1.2.0_windows_arm64.zip"},
		    {"id": 9, "name": "checksums.txt", "state": "uploaded", "size": 200}
		  ]}]`)
	}))
	defer api.Close()

	src, err := github.New(github.Options{
		Owner: "acme", Repo: "hello",
		BaseURL:           api.URL, // GitHub's public API if empty
		TrustGitHubDigest: true,
		Logger:            slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	pub, err := os.ReadFile("testdata/goreleaser/dist/cosign.pub")
	if err != nil {
		fmt.Println(err)
		return
	}
	v, err := verify.Signature(pub)
	if err != nil {
		fmt.Println(err)
		return
	}
	listing, err := src.Releases(context.Background(), v)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range listing.Releases {
		fmt.Println(r.Version, r.Notes)
		for _, a := range r.Assets {
			fmt.Println(a.OS, a.Arch, a.Name, a.Digest.String()[:15])
		}
	}
	if rl, ok := src.RateLimit(); ok {
		fmt.Printf("%d of %d API requests left this hour\n", rl.Remaining, rl.Limit)
	}
	// Output:
	// v1.2.0 Faster.
	// linux amd64 hello_1.2.0_linux_amd64.tar.gz sha256:2151b604
	// windows arm64 hello_1.2.0_windows_arm64.zip sha256:4355a46b
	// 58 of 60 API requests left this hour
}
