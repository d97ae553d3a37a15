package e2e

import (
	"bytes"
	"debug/elf"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/molt-go/update/agent/deploylog"
	"github.com/molt-go/update/internal/gittest"
	"github.com/molt-go/update/source/feed"
	"github.com/molt-go/update/source/s3/s3test"
	"github.com/molt-go/update/verify"
)

// hostRepo is a git repository of a tiny program that embeds the update
// library and updates itself from a feed, as a fleet's program would.
type hostRepo struct{ *gittest.Repo }

// hostSource prints "<greeting> <version>" after updating itself from
// -feed, if given.
const hostSource = `package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	update "github.com/molt-go/update"
	"github.com/molt-go/update/source/feed"
	"github.com/molt-go/update/verify"
)

var version = "0.0.0"

const greeting = %q

func main() {
	update.AnswerProbe(version)
	feedURL := flag.String("feed", "", "feed URL")
	keyFile := flag.String("key", "", "public key")
	state := flag.String("state", "", "state directory")
	flag.Parse()
	if *feedURL != "" {
		if err := selfUpdate(*feedURL, *keyFile, *state); err != nil {
			fmt.Fprintln(os.Stderr, "update:", err)
		}
	}
	fmt.Println(greeting, version)
}

func selfUpdate(url, keyFile, state string) error {
	pem, err := os.ReadFile(keyFile)
	if err != nil {
		return err
	}
	keys, err := verify.Signature(pem)
	if err != nil {
		return err
	}
	u, err := update.New(update.Options{App: "app", Version: version, Source: feed.New(url), Verifier: keys, StateDir: state})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := u.Confirm(ctx); err != nil {
		return err
	}
	_, err = u.Check(ctx) // re-executes into the new version
	return err
}
`

// newHostRepo makes the repository with a go.mod that finds this module
// on disk, tidied without the network.
func newHostRepo(t *testing.T) *hostRepo {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	r := &hostRepo{gittest.New(t)}
	r.Write("go.mod", fmt.Sprintf("module example.com/app\n\ngo 1.26\n\nrequire github.com/molt-go/update v0.0.0-00010101000000-000000000000\n\nreplace github.com/molt-go/update => %s\n", root))
	r.Write("main.go", fmt.Sprintf(hostSource, "first"))
	tidy := exec.Command("go", "mod", "tidy")
	tidy.Dir = r.Dir
	// Offline: the modules come from the module cache, verified when it
	// was filled. With the proxy off, go would ask the checksum database
	// itself for each module new to this go.sum, and a machine that
	// reaches only the proxy fails there.
	tidy.Env = append(os.Environ(), "GOWORK=off", "GOPROXY=off", "GOSUMDB=off", "GOFLAGS=-mod=mod")
	if out, err := tidy.CombinedOutput(); err != nil {
		t.Fatalf("go mod tidy in the host program's repository: %v\n%s", err, out)
	}
	return r
}

// commit commits the program with greeting and returns the hash.
func (r *hostRepo) commit(greeting string) string {
	return r.Commit("main.go", fmt.Sprintf(hostSource, greeting), "say "+greeting)
}

// readFeed reads and verifies the app's feed in the folder www.
func readFeed(t *testing.T, www string, keys verify.Verifier) (*feed.Payload, []byte) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(www, "app", "feed.json"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := feed.Parse(data, keys)
	if err != nil {
		t.Fatal(err)
	}
	return p, data
}

func feedVersions(p *feed.Payload) []string {
	var vs []string
	for _, r := range p.Releases {
		vs = append(vs, r.Version)
	}
	slices.Sort(vs)
	return vs
}

// waitOutput waits until the runner's output holds s.
func (p *runnerProc) waitOutput(s string) {
	p.t.Helper()
	deadline := time.Now().Add(runnerWait)
	for time.Now().Before(deadline) {
		if strings.Contains(p.output(), s) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.t.Fatalf("runner never said %q\n%s", s, p.output())
}

// TestRunnerPublishesToFleet is the build machine's story with real git,
// real builds and real processes: runner follows the branch and publishes
// each commit, cross-built and signed, to a folder served statically; a
// client built by runner from commit A updates itself to commit B's
// release and runs B's code. A restarted runner publishes nothing again,
// a commit that does not compile publishes nothing, and a publish that
// fails leaves the feed as it was and is tried again.
func TestRunnerPublishesToFleet(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the runner's publishing test reads ELF files and needs process groups: run it on linux")
	}
	t.Parallel()
	root := t.TempDir()
	repo := newHostRepo(t)
	repo.commit("first")
	repo.Run("tag", "v1.4.0")

	priv, pubPEM, err := feed.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	keyFile, pubFile := filepath.Join(root, "update.key"), filepath.Join(root, "update.pub")
	if err := os.WriteFile(keyFile, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pubFile, pubPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	keys, err := verify.Signature(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	www, wd, db := filepath.Join(root, "www"), filepath.Join(root, "wd"), filepath.Join(root, "deployments.db")
	host := runtime.GOOS + "/" + runtime.GOARCH
	other := "linux/arm64"
	if runtime.GOARCH == "arm64" {
		other = "linux/amd64"
	}
	args := []string{"-repo", repo.Dir, "-branch", "main", "-publish", www, "-key", keyFile, "-app", "app",
		"-platforms", host + "," + other, "-rollout", "100%", "-interval", "1h",
		"-db", db, "-workdir", wd, "-build-timeout", "10m"}
	r := startRunner(t, args...)

	t.Log("commit A, tagged v1.4.0, is published as 1.4.0 for both platforms")
	d1 := r.waitDeployment(1)
	if d1.Status != deploylog.StatusDone || d1.To != "1.4.0" {
		t.Fatalf("first deployment = %+v\n%s", d1, r.output())
	}
	if got, want := strings.Join(steps(d1), ","), "detect,fetch,build,publish,done"; got != want {
		t.Errorf("first deployment's steps = %s, want %s", got, want)
	}
	p1, _ := readFeed(t, www, keys)
	if got := feedVersions(p1); !slices.Equal(got, []string{"1.4.0"}) || len(p1.Releases[0].Assets) != 2 {
		t.Fatalf("feed after A lists %v with %d assets", got, len(p1.Releases[0].Assets))
	}
	if ro := p1.Releases[0].Rollout; ro == nil || ro.Percent != 100 {
		t.Errorf("release 1.4.0 carries rollout %+v, want 100%%", ro)
	}
	hostFile := func(v string) string {
		return filepath.Join(www, "app", fmt.Sprintf("app-%s-%s-%s", v, runtime.GOOS, runtime.GOARCH))
	}
	otherFile := filepath.Join(www, "app", "app-1.4.0-"+strings.ReplaceAll(other, "/", "-"))
	checkELF(t, otherFile, other)
	checkELF(t, hostFile("1.4.0"), host)
	// The release folder holds the same files, for pkgserver serve -dir.
	sameBytes(t, filepath.Join(wd, "releases", filepath.Base(hostFile("1.4.0"))), hostFile("1.4.0"))

	files := httptest.NewServer(http.FileServer(http.Dir(www)))
	defer files.Close()
	client := filepath.Join(root, "bin", "app")
	if err := os.MkdirAll(filepath.Dir(client), 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, hostFile("1.4.0"), client, 0o755)
	clientArgs := []string{"-feed", files.URL + "/app/", "-key", pubFile, "-state", filepath.Join(root, "state")}
	if out, errOut := run(t, client, clientArgs...); strings.TrimSpace(out) != "first 1.4.0" {
		t.Fatalf("the client built from A printed %q, want first 1.4.0\n%s", out, errOut)
	}

	t.Log("commit B is published as 1.4.1; the client at 1.4.0 updates to it and runs B's code")
	repo.commit("second")
	r.hook()
	d2 := r.waitDeployment(2)
	if d2.Status != deploylog.StatusDone || d2.To != "1.4.1" || d2.From != "1.4.0" {
		t.Fatalf("second deployment = %+v\n%s", d2, r.output())
	}
	p2, feed2 := readFeed(t, www, keys)
	if got := feedVersions(p2); !slices.Equal(got, []string{"1.4.0", "1.4.1"}) || p2.Serial <= p1.Serial {
		t.Fatalf("feed after B lists %v at serial %d (was %d)", got, p2.Serial, p1.Serial)
	}
	out, errOut := run(t, client, clientArgs...)
	if strings.TrimSpace(out) != "second 1.4.1" {
		t.Fatalf("the client printed %q after updating, want second 1.4.1\n%s", out, errOut)
	}
	sameBytes(t, client, hostFile("1.4.1"))

	t.Log("a restarted runner finds B published and publishes nothing again")
	r.stop()
	r = startRunner(t, args...)
	r.waitOutput("nothing to publish")
	if ds := r.deployments(); len(ds) != 2 {
		t.Errorf("%d deployments after a restart, want 2", len(ds))
	}
	if _, again := readFeed(t, www, keys); !bytes.Equal(again, feed2) {
		t.Errorf("the restarted runner signed the feed again")
	}

	t.Log("a commit that does not compile fails at build and publishes nothing")
	repo.Commit("main.go", "package main\n\nfunc main() { this is not Go }\n", "broken")
	r.hook()
	d3 := r.waitDeployment(3)
	if b := stepOf(d3, deploylog.StepBuild); d3.Status != deploylog.StatusFailed || b == nil || b.Error == "" || !strings.Contains(b.Output, "main.go") {
		t.Fatalf("broken deployment = %+v\n%s", d3, r.output())
	}
	if _, now := readFeed(t, www, keys); !bytes.Equal(now, feed2) {
		t.Errorf("a failed build changed the feed")
	}
	if m, _ := filepath.Glob(filepath.Join(wd, "releases", "app-1.4.2-*")); len(m) != 0 {
		t.Errorf("a failed build left files in the release folder: %v", m)
	}

	t.Log("a publish that fails leaves the feed as it was, and the next check publishes")
	repo.commit("third")
	// A folder where the upload must put the new file: the rename over it
	// fails, for any user.
	blocker := hostFile("1.4.3")
	if err := os.MkdirAll(filepath.Join(blocker, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	r.hook()
	d4 := r.waitDeployment(4)
	if p := stepOf(d4, "publish"); d4.Status != deploylog.StatusFailed || d4.To != "1.4.3" || p == nil || p.Error == "" {
		t.Fatalf("deployment with a failing publish = %+v\n%s", d4, r.output())
	}
	if _, now := readFeed(t, www, keys); !bytes.Equal(now, feed2) {
		t.Errorf("a failed publish changed the feed")
	}
	if err := os.RemoveAll(blocker); err != nil {
		t.Fatal(err)
	}
	r.hook()
	d5 := r.waitDeployment(5)
	if d5.Status != deploylog.StatusDone || d5.To != "1.4.3" {
		t.Fatalf("retried publish = %+v\n%s", d5, r.output())
	}
	if b := stepOf(d5, deploylog.StepBuild); b == nil || !strings.Contains(b.Output, "not built again") {
		t.Errorf("the retry built the release again: %+v", b)
	}
	p5, _ := readFeed(t, www, keys)
	if got := feedVersions(p5); !slices.Equal(got, []string{"1.4.0", "1.4.1", "1.4.3"}) {
		t.Fatalf("feed after the retry lists %v", got)
	}
	out, errOut = run(t, client, clientArgs...)
	if strings.TrimSpace(out) != "third 1.4.3" {
		t.Fatalf("the client printed %q, want third 1.4.3\n%s", out, errOut)
	}
}

// checkELF checks that file is a stripped executable for platform.
func checkELF(t *testing.T, file, platform string) {
	t.Helper()
	f, err := elf.Open(file)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	defer f.Close()
	want := map[string]elf.Machine{"linux/amd64": elf.EM_X86_64, "linux/arm64": elf.EM_AARCH64}[platform]
	if f.Machine != want {
		t.Errorf("%s is for %v, want %v (%s)", filepath.Base(file), f.Machine, want, platform)
	}
	if f.Section(".symtab") != nil || f.Section(".debug_info") != nil {
		t.Errorf("%s is not stripped (-s -w)", filepath.Base(file))
	}
}

// TestRunnerPublishesToS3: the same runner publishes to a bucket of a
// real S3 server (versitygw), with the credentials in the standard
// variables: an untagged first commit is 0.0.1, and the bucket holds the
// signed feed and the very file built.
func TestRunnerPublishesToS3(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("versitygw's posix backend and the runner's process groups: run it on linux")
	}
	// Not parallel: the credentials reach runner through the environment.
	srv := s3test.Start(t)
	bucket := srv.NewBucket(t)
	for _, kv := range srv.Env(srv.AccessKey, srv.SecretKey) {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, v)
		}
	}
	root := t.TempDir()
	repo := newHostRepo(t)
	repo.commit("first")
	priv, pubPEM, err := feed.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(root, "update.key")
	if err := os.WriteFile(keyFile, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	keys, err := verify.Signature(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	wd := filepath.Join(root, "wd")
	r := startRunner(t, "-repo", repo.Dir, "-publish", "s3://"+bucket+"/fleet", "-endpoint", srv.Endpoint,
		"-key", keyFile, "-app", "app", "-phases", "10%@0h,100%@24h", "-interval", "1h",
		"-db", filepath.Join(root, "deployments.db"), "-workdir", wd)
	d := r.waitDeployment(1)
	if d.Status != deploylog.StatusDone || d.To != "0.0.1" {
		t.Fatalf("deployment = %+v\n%s", d, r.output())
	}
	stored := filepath.Join(srv.Dir, bucket, "fleet", "app")
	p, _ := readFeed(t, filepath.Dir(stored), keys)
	if got := feedVersions(p); !slices.Equal(got, []string{"0.0.1"}) {
		t.Fatalf("the bucket's feed lists %v, want 0.0.1", got)
	}
	if ro := p.Releases[0].Rollout; ro == nil || len(ro.Phases) != 2 || ro.Phases[0].Percent != 10 || ro.Phases[1].Percent != 100 {
		t.Errorf("release 0.0.1 carries rollout %+v, want the two phases", ro)
	}
	name := fmt.Sprintf("app-0.0.1-%s-%s", runtime.GOOS, runtime.GOARCH)
	sameBytes(t, filepath.Join(stored, name), filepath.Join(wd, "releases", name))
	if out, _ := run(t, filepath.Join(wd, "releases", name)); strings.TrimSpace(out) != "first 0.0.1" {
		t.Errorf("the published program printed %q, want first 0.0.1", out)
	}
}
