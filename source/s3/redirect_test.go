package s3_test

import (
	"context"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/molt-go/update/source"
	"github.com/molt-go/update/source/s3"
)

// The child half of TestNoClientRefusesHTTPSToHTTP runs in a process of its
// own, so that the https endpoint's test certificate is trusted the way a
// real one is (SSL_CERT_FILE, read once per process) and the source is made
// with no HTTP client at all.
const redirectChildEnv = "MOLT_S3_REDIRECT_ENDPOINT"

// TestNoClientRefusesHTTPSToHTTP: an S3 source given no HTTP client
// follows no redirect from https to plain http, so its SigV4 Authorization
// header never travels in clear text.
func TestNoClientRefusesHTTPSToHTTP(t *testing.T) {
	if os.Getenv(redirectChildEnv) != "" {
		t.Skip("the parent runs this")
	}
	var plainRequests, plainAuth atomic.Int32
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plainRequests.Add(1)
		if r.Header.Get("Authorization") != "" || r.Header.Get("X-Amz-Date") != "" {
			plainAuth.Add(1)
		}
		http.NotFound(w, r)
	}))
	defer plain.Close()
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	defer tlsSrv.Close()
	cert := filepath.Join(t.TempDir(), "cert.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRedirectChild$", "-test.v")
	cmd.Env = append(os.Environ(), redirectChildEnv+"="+tlsSrv.URL, "SSL_CERT_FILE="+cert, "SSL_CERT_DIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if plainAuth.Load() != 0 {
		t.Fatalf("%d requests with credentials reached the plain http host", plainAuth.Load())
	}
	if plainRequests.Load() != 0 {
		t.Errorf("the redirect was followed to plain http %d times", plainRequests.Load())
	}
}

func TestRedirectChild(t *testing.T) {
	endpoint := os.Getenv(redirectChildEnv)
	if endpoint == "" {
		t.Skip("run by TestNoClientRefusesHTTPSToHTTP")
	}
	src, err := s3.New(context.Background(), s3.Options{
		Bucket: "releases", App: "hello", Endpoint: endpoint, UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Releases(context.Background(), nil)
	if !errors.Is(err, source.ErrInsecureRedirect) {
		t.Fatalf("Releases after an https->http redirect = %v, want source.ErrInsecureRedirect", err)
	}
}
