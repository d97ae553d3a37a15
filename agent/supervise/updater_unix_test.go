//go:build unix

package supervise_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	update "github.com/molt-go/update"
	"github.com/molt-go/update/agent/supervise"
	"github.com/molt-go/update/internal/testbin"
	"github.com/molt-go/update/internal/testtool"
	"github.com/molt-go/update/updatetest"
)

// childSrc is a program that writes its version into the file named by its
// first argument and then runs until stopped.
const childSrc = `package main

import (
	"os"
	"time"
)

func main() {
	os.WriteFile(os.Args[1], []byte(%q), 0o644)
	time.Sleep(time.Hour)
}
`

// TestSupervisorAsRestarterUpdatesThreeTimes: an updater whose Restarter
// is a Supervisor keeps the supervised program up to date, release after
// release, because the supervisor says it restarted another program and
// this process goes on.
func TestSupervisorAsRestarterUpdatesThreeTimes(t *testing.T) {
	testtool.Find(t, "install Go", "go")
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	build := func(v string) []byte {
		exe, err := testbin.Build(ctx, filepath.Join(dir, "build"), "app-"+strings.ReplaceAll(v, ".", "_"), fmt.Sprintf(childSrc, v))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(exe)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	os.MkdirAll(filepath.Join(dir, "build"), 0o755)
	os.MkdirAll(filepath.Join(dir, "bin"), 0o755)
	target := filepath.Join(dir, "bin", "app")
	if err := os.WriteFile(target, build("1.0.0"), 0o755); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(dir, "version")
	sup := &supervise.Supervisor{Args: []string{target, marker}, Stdout: io.Discard, Stderr: io.Discard}
	defer sup.Stop(context.Background())
	if _, err := sup.Restart(ctx, target); err != nil {
		t.Fatal(err)
	}
	waitVersion(t, marker, "1.0.0")

	repo := updatetest.NewRepo(t, "app")
	u, err := update.New(update.Options{
		App: "app", Version: "1.0.0", Source: repo.Source(), Verifier: repo.Verifier(),
		Target: target, StateDir: filepath.Join(dir, "state"), Restarter: sup, SkipProbe: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"1.1.0", "1.2.0", "1.3.0"} {
		repo.Publish(v, build(v))
		res, err := u.Check(ctx)
		if err != nil || !res.Updated || res.To != v {
			t.Fatalf("update to %s: %+v, %v", v, res, err)
		}
		waitVersion(t, marker, v)
	}
}

func waitVersion(t *testing.T, marker, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if b, _ := os.ReadFile(marker); string(b) == want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	b, _ := os.ReadFile(marker)
	t.Fatalf("the supervised program says %q, want %s", b, want)
}
