package update

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/molt-go/update/source"
)

// How Watch uses a source that pushes (source.Notifier).
const (
	// pushRetryMin is the first pause after a push that failed (the
	// server restarting, the network gone); it doubles with each failure
	// in a row, up to the interval and at most pushRetryMax, so that a
	// fleet whose server went down does not hammer it when it is back.
	pushRetryMin = time.Second
	pushRetryMax = 5 * time.Minute
	// pushHealthy is how long a push must have held before failing to
	// count as one that worked: its failure starts the pauses afresh.
	pushHealthy = time.Minute
	// pushFloor is the least time between the starts of two rounds woken
	// by push in a row, so that a source that wakes Watch at once every
	// time (a broken mirror, a feed that never verifies) cannot make it
	// spin; the first wake after a quiet spell is followed at once.
	pushFloor = time.Second
	// noPushBackoff bounds the pauses before asking again a source that
	// said it cannot push (source.ErrNoPush): the interval, doubling to
	// 16 intervals. A host that gains push later is found; a static host
	// costs one request more every few intervals.
	noPushBackoff = 4
)

// Watch runs Check at once and then every interval, give or take a tenth
// at random so that a fleet does not knock at once, until ctx is done; it
// then returns ctx.Err(). Each round is bounded by Options.RoundTimeout, so
// a stalled server never holds Watch. An error in one round is logged and
// reported as an event, and the next round goes on. A development build or
// an unusable state directory makes Watch wait for ctx without checking.
//
// When the Source can push (it is a source.Notifier, as feed.Client is
// against the reference server), Watch also waits on it between rounds
// and checks at once when it says the source may have changed, so a new
// release (or a withdrawal) arrives within seconds whatever the interval;
// it still checks at least every interval. A push only wakes the check,
// which verifies as always. A source that cannot push here (a static
// folder, a bucket, a CDN) or whose push fails is polled as without it,
// and asked again after a pause that grows while it keeps failing.
func (u *Updater) Watch(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		return fmt.Errorf("update: watch interval %v must be positive", interval)
	}
	if u.off != nil {
		u.sayOff()
		<-ctx.Done()
		return ctx.Err()
	}
	var p *pusher
	if n, ok := u.o.Source.(source.Notifier); ok {
		p = &pusher{n: n, log: u.log}
	}
	var start time.Time // of the last round
	woken := false      // the last round was woken by push
	for {
		start = time.Now()
		rctx, cancel := context.WithTimeout(ctx, u.o.RoundTimeout)
		_, err := u.Check(rctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			u.log.Warn("update: check failed; trying again next round", "err", err)
		}
		jitter := time.Duration((rand.Float64()*0.2 - 0.1) * float64(interval))
		pushed, err := p.await(ctx, interval, interval+jitter)
		if err != nil {
			return err
		}
		if pushed && woken {
			if err := sleepCtx(ctx, pushFloor-time.Since(start)); err != nil {
				return err
			}
		}
		woken = pushed
	}
}

// pusher is Watch's use of a source that pushes: how it failed lately,
// and when to ask it again.
type pusher struct {
	n       source.Notifier
	log     *slog.Logger
	fails   int       // failures in a row
	noPush  int       // answers of ErrNoPush in a row
	retryAt time.Time // no Wait before then
}

// await waits until the next round is due: after next, or sooner if the
// source says it may have changed, which it reports. A nil pusher only
// waits.
func (p *pusher) await(ctx context.Context, interval, next time.Duration) (pushed bool, err error) {
	due := time.NewTimer(next)
	defer due.Stop()
	for {
		if p == nil {
			select {
			case <-ctx.Done():
				return false, ctx.Err()
			case <-due.C:
				return false, nil
			}
		}
		if d := time.Until(p.retryAt); d > 0 {
			pause := time.NewTimer(d)
			select {
			case <-ctx.Done():
				pause.Stop()
				return false, ctx.Err()
			case <-due.C:
				pause.Stop()
				return false, nil
			case <-pause.C:
			}
		}
		// Not waited for once cancelled: a Notifier slow to notice its
		// ctx must not hold the next round.
		wctx, cancel := context.WithCancel(ctx)
		res := make(chan error, 1)
		began := time.Now()
		go func() { res <- p.n.Wait(wctx) }()
		select {
		case <-ctx.Done():
			cancel()
			return false, ctx.Err()
		case <-due.C:
			cancel()
			return false, nil
		case err := <-res:
			cancel()
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			if err == nil {
				p.fails, p.noPush = 0, 0
				return true, nil
			}
			p.failed(err, interval, time.Since(began))
		}
	}
}

// failed sets the pause before the next Wait after one that returned err
// having held for held.
func (p *pusher) failed(err error, interval, held time.Duration) {
	if errors.Is(err, source.ErrNoPush) {
		p.fails = 0
		p.noPush++
		p.retryAt = time.Now().Add(interval << min(p.noPush-1, noPushBackoff))
		if p.noPush == 1 {
			p.log.Info("update: the source does not push; checking every interval", "interval", interval, "why", err)
		}
		return
	}
	if held >= pushHealthy {
		p.fails = 0
	}
	p.fails++
	pause := min(pushRetryMin<<min(p.fails-1, 20), interval, pushRetryMax)
	// Half of it at random: a fleet that lost its server together does not
	// come back together.
	pause = pause/2 + rand.N(pause/2+1)
	p.retryAt = time.Now().Add(pause)
	level := slog.LevelDebug
	if p.fails == 1 {
		level = slog.LevelInfo
	}
	p.log.Log(context.Background(), level, "update: push failed; polling until it works again",
		"retry_in", pause, "failures", p.fails, "err", err)
}
