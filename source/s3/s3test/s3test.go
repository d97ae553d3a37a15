// Package s3test runs a real S3 server for tests: versitygw with its posix
// backend on a temporary folder, listening on 127.0.0.1. Tests of the S3
// source and of publishing talk to it with the real AWS SDK, so they check
// what a bucket really answers (error codes, ETags, ranges, metadata), not
// what a fake thinks it would.
//
// The versitygw binary is looked for on PATH, in $GOBIN and in
// $(go env GOPATH)/bin. Tests never install it: without it they skip,
// saying how to get it (go install Module), and under
// MOLT_REQUIRE_TOOLS=1, as in CI, they fail instead.
package s3test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/molt-go/update/internal/platform"

	"github.com/molt-go/update/internal/testtool"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Module is the versitygw command installed when none is found.
const Module = "github.com/versity/versitygw/cmd/versitygw@v1.8.0"

// Region is the region the server runs in and clients sign for.
const Region = "us-east-1"

// Server is one running versitygw.
type Server struct {
	// Endpoint is the S3 API's base URL, http://127.0.0.1:PORT.
	Endpoint string
	// AdminEndpoint is the admin API's base URL, for CreateUser.
	AdminEndpoint string
	// AccessKey and SecretKey are the root user's credentials.
	AccessKey, SecretKey string
	// Dir is the posix backend's root: each bucket is a folder in it, each
	// object a file, so tests can look at what was stored.
	Dir string

	bin string
}

// Binary returns the path of versitygw, or skips the test (fails it under
// testtool.RequireEnv) when it is not installed.
func Binary(t testing.TB) string {
	t.Helper()
	return testtool.Find(t, "go install "+Module, exeName())
}

func exeName() string { return platform.ExeName("versitygw", runtime.GOOS) }

// Start runs a versitygw for t on a fresh temporary folder, waits until it
// answers, and stops it when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := Binary(t)
	root := t.TempDir()
	s := &Server{
		AccessKey: "molt-root",
		SecretKey: "molt-root-secret-" + fmt.Sprint(time.Now().UnixNano()),
		Dir:       filepath.Join(root, "data"),
		bin:       bin,
	}
	for _, d := range []string{s.Dir, filepath.Join(root, "iam")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A port found free may be taken before versitygw binds it; then the
	// process exits at once and another pair of ports is tried.
	var lastErr error
	for range 3 {
		if lastErr = s.start(t, root); lastErr == nil {
			return s
		}
		t.Logf("s3test: %v; trying other ports", lastErr)
	}
	t.Fatalf("s3test: versitygw did not start: %v", lastErr)
	return nil
}

func (s *Server) start(t testing.TB, root string) error {
	port, admin, err := freePorts()
	if err != nil {
		return err
	}
	s.Endpoint = "http://" + port
	s.AdminEndpoint = "http://" + admin
	logFile := filepath.Join(root, "versitygw.log")
	logf, err := os.Create(logFile)
	if err != nil {
		return err
	}
	cmd := exec.Command(s.bin,
		"--access", s.AccessKey, "--secret", s.SecretKey,
		"--region", Region,
		"--port", port, "--admin-port", admin,
		"--iam-dir", filepath.Join(root, "iam"),
		"--quiet",
		"posix", s.Dir)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Root credentials reach the server by flag only.
	cmd.Env = withoutAWS(os.Environ())
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("starting %s: %w", s.bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logf.Close() }()
	stop := func() {
		if cmd.Process.Signal(os.Interrupt) != nil {
			cmd.Process.Kill()
		}
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
	if err := waitReady(s.Endpoint, exited); err != nil {
		stop()
		out, _ := os.ReadFile(logFile)
		return fmt.Errorf("%w\nversitygw log:\n%s", err, out)
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			out, _ := os.ReadFile(logFile)
			t.Logf("versitygw log:\n%s", out)
		}
	})
	return nil
}

// freePorts returns two 127.0.0.1 addresses that were free a moment ago.
func freePorts() (string, string, error) {
	var addrs []string
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", "", err
		}
		defer ln.Close()
		addrs = append(addrs, ln.Addr().String())
	}
	return addrs[0], addrs[1], nil
}

// waitReady polls the endpoint until it answers any HTTP response (an
// unsigned request gets 403), the process exits, or a minute passes.
func waitReady(endpoint string, exited <-chan error) error {
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("versitygw exited before answering: %v", err)
		default:
		}
		req, _ := http.NewRequest(http.MethodGet, endpoint+"/", nil)
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("versitygw did not answer within a minute")
}

// withoutAWS drops AWS_* variables, so a developer's own credentials never
// reach a test server or a test client by accident.
func withoutAWS(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "AWS_") {
			out = append(out, kv)
		}
	}
	return out
}

// Credentials returns the root user's credentials as a provider.
func (s *Server) Credentials() aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, "")
}

// Client returns an SDK client signed as the root user, for tests to
// create buckets and put or delete objects behind the code under test.
func (s *Server) Client() *s3.Client {
	return s3.New(s3.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.Endpoint),
		UsePathStyle: true,
		Credentials:  s.Credentials(),
		// The objects are verified by the code under test; quiet the SDK's
		// warnings about ranged reads without checksums.
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// CreateBucket makes a private bucket owned by the root user.
func (s *Server) CreateBucket(t testing.TB, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := s.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("s3test: create bucket %s: %v", name, err)
	}
}

// NewBucket makes a private bucket named after the test (as S3 allows:
// 3 to 63 of a-z, 0-9 and '-') and returns its name, so that the tests and
// subtests sharing one server never share a bucket.
func (s *Server) NewBucket(t testing.TB) string {
	t.Helper()
	name := []byte("molt-")
	for _, r := range strings.ToLower(t.Name()) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			name = append(name, byte(r))
		} else if name[len(name)-1] != '-' {
			name = append(name, '-')
		}
	}
	bucket := strings.TrimRight(string(name[:min(len(name), 63)]), "-")
	s.CreateBucket(t, bucket)
	return bucket
}

// CreateUser adds a user with the plain "user" role, who can sign requests
// but has no access to buckets it does not own: requests it signs for the
// root user's buckets are refused with AccessDenied.
func (s *Server) CreateUser(t testing.TB, access, secret string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.bin, "admin",
		"--access", s.AccessKey, "--secret", s.SecretKey, "--region", Region,
		"--endpoint-url", s.AdminEndpoint,
		"create-user", "--access", access, "--secret", secret, "--role", "user")
	cmd.Env = withoutAWS(os.Environ())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("s3test: create user %s: %v\n%s", access, err, out.Bytes())
	}
}

// Env returns the standard AWS variables that make the SDK's default chain
// sign as access/secret against this server's region, with every other
// source of credentials (shared files, instance metadata) turned off, for a
// child process. Pass empty access and secret for a process with no
// credentials at all.
func (s *Server) Env(access, secret string) []string {
	env := withoutAWS(os.Environ())
	env = append(env,
		"AWS_REGION="+Region,
		// No shared config or instance metadata: the test must not pick
		// up the machine's own credentials, nor reach for a metadata
		// address that is not on this machine.
		"AWS_CONFIG_FILE="+os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE="+os.DevNull,
		"AWS_EC2_METADATA_DISABLED=true",
	)
	if access != "" {
		env = append(env, "AWS_ACCESS_KEY_ID="+access, "AWS_SECRET_ACCESS_KEY="+secret)
	}
	return env
}
