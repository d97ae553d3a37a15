package update

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/molt-go/update/apply"
	"github.com/molt-go/update/internal/httpx"
	"github.com/molt-go/update/source"
)

// pattern is n bytes that differ from offset to offset, so that a resume
// from the wrong offset cannot pass the digest.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// breakAfter reads at most n bytes of r and then fails as a dropped
// connection does.
type breakAfter struct {
	r io.Reader
	n int
}

func (b *breakAfter) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	if len(p) > b.n {
		p = p[:b.n]
	}
	m, err := b.r.Read(p)
	b.n -= m
	return m, err
}

// flaky serves m's files, but the first breaks opens drop the connection
// after every bytes. It records the offset of every open.
type flaky struct {
	*memSource
	breaks, every int

	mu      sync.Mutex
	offsets []int64
}

func (f *flaky) Open(_ context.Context, a source.Asset, off int64) (io.ReadCloser, error) {
	f.mu.Lock()
	f.offsets = append(f.offsets, off)
	n := len(f.offsets)
	f.mu.Unlock()
	r := io.Reader(bytes.NewReader(f.files[a.Name][off:]))
	if n <= f.breaks {
		r = &breakAfter{r: r, n: f.every}
	}
	return io.NopCloser(r), nil
}

func (f *flaky) opened() []int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int64(nil), f.offsets...)
}

// recordWaits makes o's resumes wait nothing, recording the attempts.
func recordWaits(o *Options) *[]int {
	var mu sync.Mutex
	var attempts []int
	o.wait = func(n int) time.Duration {
		mu.Lock()
		defer mu.Unlock()
		attempts = append(attempts, n)
		return 0
	}
	return &attempts
}

// TestDownloadResumesAfterBreaks: a connection that drops twice is resumed
// from the last byte written, with the backoff asked for each attempt, and
// the file installed is whole.
func TestDownloadResumesAfterBreaks(t *testing.T) {
	t.Parallel()
	body := pattern(1 << 20)
	const every = 300 << 10
	src := &flaky{memSource: newMem("1.1.0", body), breaks: 2, every: every}
	o := opts(t, src)
	waits := recordWaits(&o)
	var progress []Progress
	o.Progress = func(p Progress) { progress = append(progress, p) }
	evs := new(events).record(&o)
	u, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	res, err := u.Check(context.Background())
	if err != nil || !res.Updated {
		t.Fatalf("Check: %+v, %v", res, err)
	}
	if got := src.opened(); fmt.Sprint(got) != fmt.Sprint([]int64{0, every, 2 * every}) {
		t.Errorf("opened at offsets %v, want 0, %d, %d", got, every, 2*every)
	}
	if fmt.Sprint(*waits) != "[1 2]" {
		t.Errorf("waited before attempts %v, want [1 2]", *waits)
	}
	if got, _ := os.ReadFile(o.Target); !bytes.Equal(got, body) {
		t.Fatalf("target holds %d bytes, not the %d published", len(got), len(body))
	}
	if d := evs.of(StepDownload); len(d) != 1 || d[0].Bytes != int64(len(body)) || d[0].Err != nil {
		t.Errorf("download events %+v, want one of %d bytes", d, len(body))
	}
	// Progress counts the whole file across resumes, never going back.
	if len(progress) == 0 {
		t.Fatal("no progress reported")
	}
	for i, p := range progress {
		if p.Asset != "app-1.1.0" || p.Total != int64(len(body)) {
			t.Fatalf("progress %+v names the wrong asset or total", p)
		}
		if i > 0 && p.Bytes < progress[i-1].Bytes {
			t.Fatalf("progress went back from %d to %d after a resume", progress[i-1].Bytes, p.Bytes)
		}
	}
	if last := progress[len(progress)-1]; last.Bytes != int64(len(body)) {
		t.Fatalf("last progress %+v, want all %d bytes", last, len(body))
	}
}

// TestDownloadGivesUpAfterRetries: a source that stays down is tried
// Retries+1 times, and the error says both what happened and why.
func TestDownloadGivesUpAfterRetries(t *testing.T) {
	t.Parallel()
	m := newMem("1.1.0", []byte("new"))
	var opens atomic.Int32
	src := &sourceFunc{
		releases: func(ctx context.Context) (*source.Listing, error) { return m.Releases(ctx, nil) },
		open: func(context.Context, source.Asset, int64) (io.ReadCloser, error) {
			opens.Add(1)
			return nil, fmt.Errorf("connecting: %w", source.ErrUnavailable)
		},
	}
	o := opts(t, src)
	o.Retries = 3
	waits := recordWaits(&o)
	u, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	_, err = u.Check(context.Background())
	if !errors.Is(err, ErrTruncated) || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Check: %v, want ErrTruncated wrapping ErrUnavailable", err)
	}
	var ue *Error
	if !errors.As(err, &ue) || ue.Step != StepDownload || ue.To != "1.1.0" {
		t.Fatalf("error %v does not name the download of 1.1.0", err)
	}
	if n := opens.Load(); n != 4 {
		t.Errorf("opened %d times, want Retries+1 = 4", n)
	}
	if fmt.Sprint(*waits) != "[1 2 3]" {
		t.Errorf("waits %v, want [1 2 3]", *waits)
	}
	if got := content(t, o.Target); got != "old" {
		t.Fatalf("target %q", got)
	}
	onlyFiles(t, filepath.Dir(o.Target), "app")
}

// TestDownloadTruncated: a server that always ends early gives
// ErrTruncated after every resume got nothing more.
func TestDownloadTruncated(t *testing.T) {
	t.Parallel()
	body := pattern(1000)
	m := newMem("1.1.0", body)
	var mu sync.Mutex
	var offsets []int64
	src := &sourceFunc{
		releases: func(ctx context.Context) (*source.Listing, error) { return m.Releases(ctx, nil) },
		open: func(_ context.Context, a source.Asset, off int64) (io.ReadCloser, error) {
			mu.Lock()
			offsets = append(offsets, off)
			mu.Unlock()
			return io.NopCloser(bytes.NewReader(body[min(off, 600):600])), nil
		},
	}
	o := opts(t, src)
	o.Retries = 2
	recordWaits(&o)
	u, _ := New(o)
	_, err := u.Check(context.Background())
	if !errors.Is(err, ErrTruncated) || !contains(err.Error(), "600 of 1000") {
		t.Fatalf("Check: %v, want ErrTruncated saying 600 of 1000 bytes", err)
	}
	if fmt.Sprint(offsets) != "[0 600 600]" {
		t.Errorf("offsets %v, want [0 600 600]", offsets)
	}
	if got := content(t, o.Target); got != "old" {
		t.Fatalf("target %q", got)
	}
	onlyFiles(t, filepath.Dir(o.Target), "app")
}

// TestDownloadRefusalsAreNotRetried: a verdict of the source (not found,
// access denied, an insecure redirect, bad metadata) is final.
func TestDownloadRefusalsAreNotRetried(t *testing.T) {
	t.Parallel()
	for _, refusal := range []error{ErrNotFound, ErrAccess, ErrInsecureRedirect, ErrBadMetadata} {
		t.Run(refusal.Error(), func(t *testing.T) {
			t.Parallel()
			m := newMem("1.1.0", []byte("new"))
			var opens atomic.Int32
			src := &sourceFunc{
				releases: func(ctx context.Context) (*source.Listing, error) { return m.Releases(ctx, nil) },
				open: func(context.Context, source.Asset, int64) (io.ReadCloser, error) {
					opens.Add(1)
					return nil, fmt.Errorf("asset: %w", refusal)
				},
			}
			o := opts(t, src)
			waits := recordWaits(&o)
			u, _ := New(o)
			_, err := u.Check(context.Background())
			if !errors.Is(err, refusal) || errors.Is(err, ErrTruncated) {
				t.Fatalf("Check: %v, want %v and not ErrTruncated", err, refusal)
			}
			if n := opens.Load(); n != 1 || len(*waits) != 0 {
				t.Fatalf("opened %d times and waited %v, want one try", n, *waits)
			}
		})
	}
}

// TestDownloadCancelledWhileWaiting: cancelling during the wait before a
// resume ends the download at once.
func TestDownloadCancelledWhileWaiting(t *testing.T) {
	t.Parallel()
	m := newMem("1.1.0", []byte("new"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var opens atomic.Int32
	src := &sourceFunc{
		releases: func(ctx context.Context) (*source.Listing, error) { return m.Releases(ctx, nil) },
		open: func(context.Context, source.Asset, int64) (io.ReadCloser, error) {
			opens.Add(1)
			time.AfterFunc(20*time.Millisecond, cancel)
			return nil, ErrUnavailable
		},
	}
	o := opts(t, src)
	o.wait = func(int) time.Duration { return time.Hour }
	u, _ := New(o)
	start := time.Now()
	_, err := u.Check(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Check: %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v to notice the cancellation", d)
	}
	if n := opens.Load(); n != 1 {
		t.Fatalf("opened %d times, want 1", n)
	}
	onlyFiles(t, filepath.Dir(o.Target), "app")
}

// TestDownloadLargerThanPromised: a server sending more than the metadata
// promised is cut off at one byte more, and not retried.
func TestDownloadLargerThanPromised(t *testing.T) {
	t.Parallel()
	body := pattern(4000)
	src := newMem("1.1.0", body)
	src.files["app-1.1.0"] = append(bytes.Clone(body), "more"...)
	o := opts(t, src)
	waits := recordWaits(&o)
	u, _ := New(o)
	_, err := u.Check(context.Background())
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Check: %v, want ErrTooLarge", err)
	}
	if n := src.opens.Load(); n != 1 || len(*waits) != 0 {
		t.Fatalf("opened %d times, waited %v: ErrTooLarge must not be retried", n, *waits)
	}
	if got := content(t, o.Target); got != "old" {
		t.Fatalf("target %q", got)
	}
	onlyFiles(t, filepath.Dir(o.Target), "app")
}

// TestDownloadUnknownSizeCapped: with no promised size, MaxAssetSize caps
// the download; under it the file installs.
func TestDownloadUnknownSizeCapped(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		size int
		ok   bool
	}{{"under the cap", 3000, true}, {"at the cap", 4096, true}, {"over the cap", 5000, false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			body := pattern(tc.size)
			src := newMem("1.1.0", body)
			src.listing.Releases[0].Assets[0].Size = 0
			o := opts(t, src)
			o.MaxAssetSize = 4096
			var totals []int64
			o.Progress = func(p Progress) { totals = append(totals, p.Total) }
			u, _ := New(o)
			res, err := u.Check(context.Background())
			if tc.ok {
				if err != nil || !res.Updated {
					t.Fatalf("Check: %+v, %v", res, err)
				}
				if got, _ := os.ReadFile(o.Target); !bytes.Equal(got, body) {
					t.Fatal("target does not hold the download")
				}
				for _, total := range totals {
					if total != 0 {
						t.Fatalf("progress total %d for an asset of unknown size, want 0", total)
					}
				}
				return
			}
			if !errors.Is(err, ErrTooLarge) || !contains(err.Error(), "4096") {
				t.Fatalf("Check: %v, want ErrTooLarge naming the cap", err)
			}
			if got := content(t, o.Target); got != "old" {
				t.Fatalf("target %q", got)
			}
		})
	}
}

// slowReader hands out at most 4 KiB per read, sleeping before each.
type slowReader struct {
	r     io.Reader
	reads atomic.Int32
}

func (s *slowReader) Read(p []byte) (int, error) {
	s.reads.Add(1)
	time.Sleep(2 * time.Millisecond)
	if len(p) > 4<<10 {
		p = p[:4<<10]
	}
	return s.r.Read(p)
}

// TestProgressIsThrottled: Progress comes often enough to show a bar, at
// most every 50 ms, and once at the end with the whole size.
func TestProgressIsThrottled(t *testing.T) {
	t.Parallel()
	body := pattern(400 << 10) // 100 reads of 4 KiB, 2 ms each
	m := newMem("1.1.0", body)
	slow := &slowReader{r: bytes.NewReader(body)}
	src := &sourceFunc{
		releases: func(ctx context.Context) (*source.Listing, error) { return m.Releases(ctx, nil) },
		open: func(context.Context, source.Asset, int64) (io.ReadCloser, error) {
			return io.NopCloser(slow), nil
		},
	}
	o := opts(t, src)
	var mu sync.Mutex
	var progress []Progress
	o.Progress = func(p Progress) {
		mu.Lock()
		defer mu.Unlock()
		progress = append(progress, p)
	}
	u, _ := New(o)
	start := time.Now()
	if res, err := u.Check(context.Background()); err != nil || !res.Updated {
		t.Fatalf("Check: %+v, %v", res, err)
	}
	took := time.Since(start)
	reads := int(slow.reads.Load())
	if len(progress) < 3 || len(progress) >= reads/2 {
		t.Fatalf("%d progress reports for %d reads: want a few, throttled", len(progress), reads)
	}
	// At most one report per 50 ms, plus the start, the first chunk and
	// the end.
	if max := int(took/(50*time.Millisecond)) + 3; len(progress) > max {
		t.Fatalf("%d progress reports in %v, want at most %d", len(progress), took, max)
	}
	// Zero at the start (a display measures speed from there), then part
	// of the file, and all of it at the end.
	first, second, last := progress[0], progress[1], progress[len(progress)-1]
	if first.Bytes != 0 || first.Total != int64(len(body)) {
		t.Errorf("first report %+v, want 0 of %d bytes", first, len(body))
	}
	if second.Bytes <= 0 || second.Bytes >= int64(len(body)) {
		t.Errorf("second report %+v, want part of the file", second)
	}
	if last.Bytes != int64(len(body)) || last.Total != int64(len(body)) || last.Asset != "app-1.1.0" {
		t.Errorf("last report %+v, want the whole %d bytes of app-1.1.0", last, len(body))
	}
	// Elapsed runs from the start of the download, so Speed is an average a
	// display can show: every report's speed is at most what the reader's
	// sleeps allow (2 ms per 4 KiB read, so at most 2 MB/s), where a rate
	// taken from the last chunk or from an Elapsed of zero would be far above.
	const ceiling = float64(4<<10) / 0.002
	for i, p := range progress {
		if i > 0 && p.Elapsed < progress[i-1].Elapsed {
			t.Errorf("report %d: Elapsed went back from %v to %v", i, progress[i-1].Elapsed, p.Elapsed)
		}
		if s := p.Speed(); s > ceiling {
			t.Errorf("report %d: %d bytes in %v is %.0f B/s, more than the reader's %.0f B/s", i, p.Bytes, p.Elapsed, s, ceiling)
		}
	}
	if last.Elapsed <= 0 || last.Elapsed > took || last.Speed() <= 0 {
		t.Errorf("last report: Elapsed %v (Check took %v), Speed %.0f: want a positive speed over the download", last.Elapsed, took, last.Speed())
	}
}

// TestLargeDownload goes past the writeback hint size and lands whole.
func TestLargeDownload(t *testing.T) {
	t.Parallel()
	body := pattern(writebackEvery + 3<<20)
	o := opts(t, newMem("1.1.0", body))
	u, _ := New(o)
	if res, err := u.Check(context.Background()); err != nil || !res.Updated {
		t.Fatalf("Check: %+v, %v", res, err)
	}
	if got, _ := os.ReadFile(o.Target); !bytes.Equal(got, body) {
		t.Fatal("target does not hold the download")
	}
}

// readOnlyStage stages a file the download cannot write: a full disk, as
// far as the updater can tell.
type readOnlyStage struct{ apply.Replace }

func (r *readOnlyStage) Stage(target string) (*os.File, error) {
	f, err := r.Replace.Stage(target)
	if err != nil {
		return nil, err
	}
	f.Close()
	return os.Open(f.Name())
}

// TestDownloadWriteErrorNotRetried: a disk that refuses the bytes is not
// the network's fault: no resume, and the staged file is removed.
func TestDownloadWriteErrorNotRetried(t *testing.T) {
	t.Parallel()
	src := newMem("1.1.0", pattern(600<<10))
	o := opts(t, src)
	o.Applier = &readOnlyStage{}
	waits := recordWaits(&o)
	u, _ := New(o)
	_, err := u.Check(context.Background())
	var we *writeError
	if !errors.As(err, &we) || !contains(err.Error(), "writing download") {
		t.Fatalf("Check: %v, want a write error", err)
	}
	var ue *Error
	if !errors.As(err, &ue) || ue.Step != StepDownload {
		t.Fatalf("error %v does not name the download step", err)
	}
	if n := src.opens.Load(); n != 1 || len(*waits) != 0 {
		t.Fatalf("opened %d times, waited %v: a write error must not be retried", n, *waits)
	}
	if got := content(t, o.Target); got != "old" {
		t.Fatalf("target %q", got)
	}
	onlyFiles(t, filepath.Dir(o.Target), "app")
}

// failStage cannot stage anything.
type failStage struct{ apply.Replace }

var errNoSpace = errors.New("no space left, says the test")

func (*failStage) Stage(string) (*os.File, error) { return nil, errNoSpace }

func TestDownloadCannotStage(t *testing.T) {
	t.Parallel()
	src := newMem("1.1.0", []byte("new"))
	o := opts(t, src)
	o.Applier = &failStage{}
	u, _ := New(o)
	_, err := u.Check(context.Background())
	var ue *Error
	if !errors.Is(err, errNoSpace) || !errors.As(err, &ue) || ue.Step != StepDownload || !contains(err.Error(), "staging beside") {
		t.Fatalf("Check: %v, want the staging error at the download step", err)
	}
	if n := src.opens.Load(); n != 0 {
		t.Fatalf("opened the asset %d times with nowhere to put it", n)
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	want := map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second,
		5: 16 * time.Second, 6: 30 * time.Second, 7: 30 * time.Second, 60: 30 * time.Second}
	for n, d := range want {
		if got := backoff(n); got != d {
			t.Errorf("backoff(%d) = %v, want %v", n, got, d)
		}
	}
	// The default retries outlast a short outage of about a minute.
	var o Options
	o.setDefaults()
	var total time.Duration
	for n := 1; n <= o.Retries; n++ {
		total += o.wait(n)
	}
	if total < 50*time.Second || total > 90*time.Second {
		t.Errorf("default retries wait %v in all, want about a minute", total)
	}
}

func TestRetryable(t *testing.T) {
	t.Parallel()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	bg := context.Background()
	cases := []struct {
		ctx  context.Context
		err  error
		want bool
	}{
		{bg, io.ErrUnexpectedEOF, true},
		{bg, ErrUnavailable, true},
		{bg, ErrTruncated, true},
		{cancelled, io.ErrUnexpectedEOF, false},
		{bg, &writeError{errNoSpace}, false},
		{bg, fmt.Errorf("x: %w", ErrNotFound), false},
		{bg, ErrAccess, false},
		{bg, ErrInsecureRedirect, false},
		{bg, ErrBadMetadata, false},
		{bg, ErrTooLarge, false},
	}
	for _, c := range cases {
		if got := retryable(c.ctx, c.err); got != c.want {
			t.Errorf("retryable(%v, cancelled=%v) = %v, want %v", c.err, c.ctx.Err() != nil, got, c.want)
		}
	}
	if we := (&writeError{errNoSpace}); !errors.Is(we, errNoSpace) || we.Error() != "writing download: "+errNoSpace.Error() {
		t.Errorf("writeError %q does not wrap its cause", we)
	}
}

// cancelAfter reads from r and cancels once it has handed out n bytes.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel func()
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	m, err := c.r.Read(p)
	if c.n -= m; c.n <= 0 {
		c.cancel()
	}
	return m, err
}

// TestDownloadCancelledMidway: cancelling while bytes flow stops the
// download at once, without a resume, and leaves nothing.
func TestDownloadCancelledMidway(t *testing.T) {
	t.Parallel()
	body := pattern(2 << 20)
	m := newMem("1.1.0", body)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var opens atomic.Int32
	src := &sourceFunc{
		releases: func(ctx context.Context) (*source.Listing, error) { return m.Releases(ctx, nil) },
		open: func(_ context.Context, _ source.Asset, off int64) (io.ReadCloser, error) {
			opens.Add(1)
			return io.NopCloser(&cancelAfter{r: bytes.NewReader(body[off:]), n: 256 << 10, cancel: cancel}), nil
		},
	}
	o := opts(t, src)
	waits := recordWaits(&o)
	u, _ := New(o)
	_, err := u.Check(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Check: %v, want context.Canceled", err)
	}
	if n := opens.Load(); n != 1 || len(*waits) != 0 {
		t.Fatalf("opened %d times, waited %v: a cancellation is not retried", n, *waits)
	}
	onlyFiles(t, filepath.Dir(o.Target), "app")
}

// TestSlowRetrievalRangeIgnoredAndTrickled: a mirror breaks a download,
// then answers the resume with the whole file (it ignores Range) at a
// trickle. Skipping what the updater already has is bounded by the stall
// watchdog like any read, so Check ends with ErrStalled in seconds, where
// skipping 32 KiB at 20 bytes a second would hold it for half an hour.
func TestSlowRetrievalRangeIgnoredAndTrickled(t *testing.T) {
	t.Parallel()
	body := pattern(64 << 10)
	u, o, requests := rangeIgnoringUpdater(t, body, 32<<10, 1, 50*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	_, err := u.Check(ctx)
	took := time.Since(start)
	if !errors.Is(err, ErrStalled) {
		t.Fatalf("Check = %v after %v, want ErrStalled", err, took)
	}
	if n := requests.Load(); n != 2 {
		t.Errorf("%d requests, want the first and one resume", n)
	}
	// One wait between attempts (a second) and an interval or two of
	// stall, with slack for a busy machine.
	if bound := 10 * time.Second; took > bound {
		t.Errorf("Check took %v, more than its bound %v", took, bound)
	}
	if got := content(t, o.Target); got != "old" {
		t.Errorf("target %q after a stalled download", got)
	}
}

// TestResumeRangeIgnoredSlowlyCompletes: the bytes a server that ignores
// Range sends again count as progress, so a slow but moving mirror (8 KiB
// every 100 ms, well above the stall floor, while skipping 256 KiB takes
// three seconds, ten stall intervals) is not cut, and the download lands.
func TestResumeRangeIgnoredSlowlyCompletes(t *testing.T) {
	t.Parallel()
	body := pattern(320 << 10)
	u, o, requests := rangeIgnoringUpdater(t, body, 256<<10, 8<<10, 100*time.Millisecond)
	if res, err := u.Check(context.Background()); err != nil || !res.Updated {
		t.Fatalf("Check: %+v, %v", res, err)
	}
	if n := requests.Load(); n != 2 {
		t.Errorf("%d requests, want the first and one resume", n)
	}
	if got, _ := os.ReadFile(o.Target); !bytes.Equal(got, body) {
		t.Fatal("target does not hold the download")
	}
}

// rangeIgnoringUpdater is an updater of testOptions whose asset comes from
// a server that sends the first cut bytes and breaks the connection, then
// answers every resume with the whole file, ignoring Range, chunk bytes at
// a time every pause. It counts the requests.
func rangeIgnoringUpdater(t *testing.T, body []byte, cut, chunk int, pause time.Duration) (*Updater, Options, *atomic.Int32) {
	t.Helper()
	m := newMem("1.1.0", body)
	requests := new(atomic.Int32)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		if requests.Add(1) == 1 {
			w.Write(body[:cut])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // the connection breaks
		}
		w.WriteHeader(http.StatusOK) // Range ignored
		for i := 0; i < len(body); i += chunk {
			if _, err := w.Write(body[i:min(i+chunk, len(body))]); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(pause):
			}
		}
	}))
	t.Cleanup(srv.Close)
	src := &sourceFunc{
		releases: func(ctx context.Context) (*source.Listing, error) { return m.Releases(ctx, nil) },
		open: func(ctx context.Context, _ source.Asset, off int64) (io.ReadCloser, error) {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-", off))
			resp, err := srv.Client().Do(req)
			if err != nil {
				return nil, err
			}
			return httpx.ResumeBody(resp, off)
		},
	}
	o := opts(t, src)
	o.StallInterval, o.StallBytes, o.Retries = 300*time.Millisecond, 1024, 1
	u, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return u, o, requests
}
