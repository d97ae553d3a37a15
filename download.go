package update

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/molt-go/update/source"
	"github.com/molt-go/update/verify"
)

// download streams asset a into w, hashing as it goes, and resumes from the
// last byte written when the connection breaks. It stops at the promised
// size plus one byte, so a server cannot make it write more than promised.
// It returns the hasher so the caller checks the digest.
func (u *Updater) download(ctx context.Context, a source.Asset, w io.Writer, st *stepRun) (h *verify.Hasher, err error) {
	limit := a.Size
	if limit <= 0 {
		limit = u.o.MaxAssetSize
	}
	if limit > u.o.MaxAssetSize {
		// Metadata may be signed yet wrong, and an API's size is not signed
		// at all: never let it promise more disk than the cap.
		return nil, fmt.Errorf("%w: %s promises %d bytes, more than MaxAssetSize (%d)", ErrTooLarge, a.Name, a.Size, u.o.MaxAssetSize)
	}
	start := time.Now()
	if u.o.Progress != nil {
		// Zero bytes at the start, so that a display knows the size before
		// the first chunk arrives.
		u.o.Progress(Progress{Asset: a.Name, Total: max(a.Size, 0)})
	}
	h = verify.NewHasher(a.Digest)
	p := newPipeline(w, h)
	defer func() {
		// Every chunk must be written and hashed before the sum is read.
		if cerr := p.close(); err == nil && cerr != nil {
			h, err = nil, cerr
		}
	}()
	var written int64
	var lastErr error
	retries := u.o.Retries
	if st.ev.Patch {
		retries = min(retries, patchRetries)
	}
	for attempt := 0; attempt <= retries; attempt++ {
		if attempt > 0 {
			if err := sleepCtx(ctx, u.o.wait(attempt)); err != nil {
				return nil, err
			}
			u.log.Info("update: resuming download", "asset", a.Name, "offset", written, "attempt", attempt, "err", lastErr)
		}
		n, err := u.attempt(ctx, p, a, written, limit, start)
		written += n
		st.bytes = written
		if err == nil {
			if a.Size > 0 && written < a.Size {
				lastErr = fmt.Errorf("%w: got %d of %d bytes", ErrTruncated, written, a.Size)
				continue
			}
			return h, nil
		}
		if errors.Is(err, ErrTooLarge) || !retryable(ctx, err) {
			return nil, err
		}
		lastErr = err
	}
	if errors.Is(lastErr, ErrTruncated) {
		return nil, lastErr
	}
	return nil, fmt.Errorf("%w after %d attempts: %w", ErrTruncated, retries+1, lastErr)
}

// attempt opens the asset at offset written and streams it into the
// pipeline under the stall watchdog. A stall is an error wrapping
// ErrStalled, which the caller resumes like a broken connection.
func (u *Updater) attempt(ctx context.Context, p *pipeline, a source.Asset, written, limit int64, start time.Time) (int64, error) {
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	rc, err := u.o.Source.Open(actx, a, written)
	if err != nil {
		return 0, err
	}
	wctx, w, stop := u.watch(actx, rc)
	n, err := u.copyCapped(wctx, p, w.reader(rc), written, limit, a, start)
	stop()
	rc.Close()
	if err != nil && w.stalled.Load() && ctx.Err() == nil {
		err = fmt.Errorf("%w: less than %d bytes in %v from %s", ErrStalled, u.o.StallBytes, u.o.StallInterval, a.Name)
	}
	return n, err
}

// copyCapped feeds src into the pipeline until EOF, failing as soon as more
// than limit bytes in all would be written. start is when the download
// began, for Progress.Elapsed.
func (u *Updater) copyCapped(ctx context.Context, p *pipeline, src io.Reader, written, limit int64, a source.Asset, start time.Time) (int64, error) {
	var n int64
	var lastReport time.Time
	report := func() {
		if u.o.Progress != nil {
			lastReport = time.Now()
			u.o.Progress(Progress{Asset: a.Name, Bytes: written + n, Total: max(a.Size, 0), Elapsed: lastReport.Sub(start)})
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		if err := p.err(); err != nil {
			// A full disk is not the network's fault: not retried.
			return n, err
		}
		c := p.buffer()
		m, rerr := src.Read(c.buf)
		c.n = m
		if written+n+int64(m) > limit {
			c.n = 0
			p.submit(c)
			return n, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
		}
		p.submit(c)
		n += int64(m)
		if m > 0 && time.Since(lastReport) > 50*time.Millisecond {
			report()
		}
		if rerr == io.EOF {
			report()
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

type writeError struct{ err error }

func (e *writeError) Error() string { return "writing download: " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// retryable: network trouble and server errors are worth a resume;
// cancellation, refusals and verdicts are not.
func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var we *writeError
	switch {
	case errors.As(err, &we),
		errors.Is(err, source.ErrNotFound),
		errors.Is(err, source.ErrAccess),
		errors.Is(err, source.ErrInsecureRedirect),
		errors.Is(err, source.ErrBadMetadata),
		errors.Is(err, ErrTooLarge):
		return false
	}
	return true
}

// backoff is the wait before resume attempt n (1, 2, ...): 1 s doubling
// to at most 30 s, so the default six retries span about a minute, the
// length of a server restart or a network blip, and not an afternoon.
func backoff(attempt int) time.Duration {
	d := time.Second << min(attempt-1, 5)
	return min(d, 30*time.Second)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
