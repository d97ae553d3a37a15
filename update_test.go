package update

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/molt-go/update/updatetest"

	"github.com/molt-go/update/restart"
	"github.com/molt-go/update/source"
	"github.com/molt-go/update/verify"
)

// memSource is an in-memory Source for unit tests of the updater's own
// logic; the end-to-end tests in e2e/ use the real feed server.
type memSource struct {
	mu      sync.Mutex
	listing source.Listing
	files   map[string][]byte
	err     error // returned by Releases when set
	opens   atomic.Int32
}

func (m *memSource) Releases(context.Context, verify.Verifier) (*source.Listing, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return nil, m.err
	}
	l := m.listing
	return &l, nil
}

func (m *memSource) Open(_ context.Context, a source.Asset, off int64) (io.ReadCloser, error) {
	m.opens.Add(1)
	return io.NopCloser(bytes.NewReader(m.files[a.Name][off:])), nil
}

func newMem(version string, body []byte) *memSource {
	sum := sha256.Sum256(body)
	name := "app-" + version
	return &memSource{
		listing: source.Listing{App: "app", Serial: 10, Releases: []source.Release{{
			Version: version,
			Assets:  []source.Asset{{Name: name, OS: runtime.GOOS, Arch: runtime.GOARCH, Size: int64(len(body)), Digest: verify.Digest{Algorithm: verify.SHA256, Sum: sum[:]}}},
		}}},
		files: map[string][]byte{name: body},
	}
}

func testOptions(t *testing.T, src source.Source) Options {
	dir := t.TempDir()
	target := filepath.Join(dir, "bin", "app")
	os.MkdirAll(filepath.Dir(target), 0o755)
	if err := os.WriteFile(target, []byte("old"), 0o755); err != nil {
		t.Fatal(err)
	}
	return Options{
		App: "app", Version: "1.0.0", Source: src, InsecureSkipVerify: false,
		Verifier: noKeys{}, Target: target, StateDir: filepath.Join(dir, "state"),
		Restarter: restart.None{}, SkipProbe: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// noKeys refuses every signature; the digests in memSource are trusted
// because the test wrote them.
type noKeys struct{}

func (noKeys) Verify(io.Reader, []byte) error { return verify.ErrBadSignature }

func TestNewRequiresVerifier(t *testing.T) {
	t.Parallel()
	o := testOptions(t, newMem("1.1.0", []byte("new")))
	o.Verifier = nil
	if _, err := New(o); !errors.Is(err, ErrNoVerifier) {
		t.Fatalf("New without verifier: %v, want ErrNoVerifier", err)
	}
	o.InsecureSkipVerify = true
	if _, err := New(o); err != nil {
		t.Fatalf("New with InsecureSkipVerify: %v", err)
	}
}

func TestEventsCarryTheStory(t *testing.T) {
	t.Parallel()
	body := bytes.Repeat([]byte("x"), 300<<10)
	var evs []Event
	var progress []Progress
	o := testOptions(t, newMem("1.1.0", body))
	o.Machine = "box1"
	o.OnEvent = func(e Event) { evs = append(evs, e) }
	o.Progress = func(p Progress) { progress = append(progress, p) }
	u, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	res, err := u.Check(context.Background())
	if err != nil || !res.Updated || res.To != "1.1.0" {
		t.Fatalf("Check: %+v %v", res, err)
	}
	var steps []Step
	for _, e := range evs {
		steps = append(steps, e.Step)
		if e.App != "app" || e.Machine != "box1" || e.From != "1.0.0" || e.End.Before(e.Start) || e.Err != nil {
			t.Errorf("event %+v lacks app, machine, from or times", e)
		}
		if e.Step == StepDownload && e.Bytes != int64(len(body)) {
			t.Errorf("download event says %d bytes, want %d", e.Bytes, len(body))
		}
		if e.Step != StepFind && e.To != "1.1.0" {
			t.Errorf("event %s has To %q", e.Step, e.To)
		}
	}
	want := []Step{StepFind, StepDownload, StepVerify, StepApply, StepRestart}
	if len(steps) != len(want) {
		t.Fatalf("steps %v, want %v", steps, want)
	}
	for i := range want {
		if steps[i] != want[i] {
			t.Fatalf("steps %v, want %v", steps, want)
		}
	}
	if len(progress) == 0 || progress[len(progress)-1].Bytes != int64(len(body)) {
		t.Fatalf("progress did not reach the end: %+v", progress)
	}
	if got, _ := os.ReadFile(o.Target); !bytes.Equal(got, body) {
		t.Fatal("target does not hold the new version")
	}
	// Installed without restart: the same release is not installed twice.
	res, err = u.Check(context.Background())
	if err != nil || res.Updated {
		t.Fatalf("second Check: %+v %v, want up to date", res, err)
	}
}

func TestWatchSurvivesErrorsAndStopsWithContext(t *testing.T) {
	t.Parallel()
	src := newMem("1.1.0", []byte("new"))
	src.err = source.ErrUnavailable
	var finds atomic.Int32
	o := testOptions(t, src)
	o.OnEvent = func(e Event) {
		if e.Step == StepFind {
			if finds.Add(1) == 3 {
				src.mu.Lock()
				src.err = nil
				src.mu.Unlock()
			}
		}
	}
	u, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- u.Watch(ctx, 20*time.Millisecond) }()
	deadline := time.After(30 * time.Second)
	for {
		if got, _ := os.ReadFile(o.Target); string(got) == "new" {
			break
		}
		select {
		case <-deadline:
			t.Fatal("watch never installed the release after the source recovered")
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Watch returned %v, want context.Canceled", err)
	}
	if finds.Load() < 3 {
		t.Fatalf("only %d rounds", finds.Load())
	}
}

// TestRollbackAfterUnconfirmedStarts tells the pending story: a version is
// installed, starts MaxStarts times without Confirm, and the next start
// rolls it back, marks it bad and never installs it again.
func TestRollbackAfterUnconfirmedStarts(t *testing.T) {
	t.Parallel()
	src := newMem("1.1.0", []byte("new"))
	o := testOptions(t, src)
	o.MaxStarts = 2
	u, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := u.Check(context.Background()); err != nil || !res.Updated {
		t.Fatalf("Check: %+v %v", res, err)
	}
	// The new version starts (New as 1.1.0) twice without confirming.
	newO := o
	newO.Version = "1.1.0"
	rs := &updatetest.Restarter{}
	newO.Restarter = rs
	for i := 0; i < 2; i++ {
		if _, err := New(newO); err != nil {
			t.Fatalf("start %d: %v", i+1, err)
		}
	}
	// The third start rolls back.
	_, err = New(newO)
	if !errors.Is(err, ErrRolledBack) {
		t.Fatalf("third start: %v, want ErrRolledBack", err)
	}
	if n := len(rs.Calls()); n != 1 {
		t.Fatalf("restarted %d times into the old version, want 1", n)
	}
	if got, _ := os.ReadFile(o.Target); string(got) != "old" {
		t.Fatalf("target holds %q after rollback, want old", got)
	}
	// The old version starts again: 1.1.0 is bad and not offered.
	u2, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	res, err := u2.Check(context.Background())
	if err != nil || res.Updated {
		t.Fatalf("Check after rollback: %+v %v, want nothing installed", res, err)
	}
	// A newer release is taken again.
	next := newMem("1.2.0", []byte("newer"))
	src.mu.Lock()
	src.listing, src.files = next.listing, next.files
	src.listing.Serial = 11
	src.mu.Unlock()
	if res, err := u2.Check(context.Background()); err != nil || res.To != "1.2.0" {
		t.Fatalf("Check with 1.2.0: %+v %v", res, err)
	}
}

// TestConfirmKeepsTheVersion: a confirmed version is never rolled back.
func TestConfirmKeepsTheVersion(t *testing.T) {
	t.Parallel()
	o := testOptions(t, newMem("1.1.0", []byte("new")))
	o.MaxStarts = 1
	u, _ := New(o)
	if _, err := u.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	newO := o
	newO.Version = "1.1.0"
	nu, err := New(newO)
	if err != nil {
		t.Fatal(err)
	}
	if err := nu.Confirm(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := New(newO); err != nil {
			t.Fatalf("start %d after confirm: %v", i, err)
		}
	}
	if got, _ := os.ReadFile(o.Target); string(got) != "new" {
		t.Fatalf("target %q, want new", got)
	}
}

// TestFailedRestartRollsBack: a restarter that cannot start the new
// version gets the old binary back and the release marked bad.
func TestFailedRestartRollsBack(t *testing.T) {
	t.Parallel()
	o := testOptions(t, newMem("1.1.0", []byte("new")))
	o.Restarter = &updatetest.Restarter{Err: errors.New("child exited")}
	u, _ := New(o)
	_, err := u.Check(context.Background())
	if !errors.Is(err, ErrRolledBack) {
		t.Fatalf("Check: %v, want ErrRolledBack", err)
	}
	var ue *Error
	if !errors.As(err, &ue) || ue.Step != StepRestart {
		t.Fatalf("error %v does not name the restart step", err)
	}
	if got, _ := os.ReadFile(o.Target); string(got) != "old" {
		t.Fatalf("target %q after failed restart, want old", got)
	}
	res, err := u.Check(context.Background())
	if err != nil || res.Updated {
		t.Fatalf("bad release offered again: %+v %v", res, err)
	}
}

// TestUnverifiedAssetRefused: an asset with no digest is not installed.
func TestUnverifiedAssetRefused(t *testing.T) {
	t.Parallel()
	src := newMem("1.1.0", []byte("new"))
	src.listing.Releases[0].Assets[0].Digest = verify.Digest{}
	o := testOptions(t, src)
	u, _ := New(o)
	if _, err := u.Check(context.Background()); !errors.Is(err, ErrNotVerified) {
		t.Fatalf("Check: %v, want ErrNotVerified", err)
	}
	if got, _ := os.ReadFile(o.Target); string(got) != "old" {
		t.Fatalf("target %q, want old", got)
	}
	if ents, _ := os.ReadDir(filepath.Dir(o.Target)); len(ents) != 1 {
		t.Fatalf("stray files beside the target: %v", ents)
	}
}

// TestPromisedSizeOverCapRefused: metadata promising more than
// MaxAssetSize is refused before anything is downloaded.
func TestPromisedSizeOverCapRefused(t *testing.T) {
	t.Parallel()
	src := newMem("1.1.0", []byte("new"))
	src.listing.Releases[0].Assets[0].Size = 2 << 30
	o := testOptions(t, src)
	u, _ := New(o)
	if _, err := u.Check(context.Background()); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Check: %v, want ErrTooLarge", err)
	}
	if n := src.opens.Load(); n != 0 {
		t.Fatalf("the asset was opened %d times", n)
	}
	if got, _ := os.ReadFile(o.Target); string(got) != "old" {
		t.Fatalf("target %q, want old", got)
	}
}
