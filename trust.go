package update

import (
	"fmt"
	"maps"
	"time"

	"github.com/molt-go/update/source"
)

// admit applies the trust rules to a listing its source has verified:
// metadata for this app, not expired, and not older than the newest seen
// from the same origin. It is pure, as go-tuf's trusted metadata is: the
// stored state and the listing in, a verdict and the next state out. The
// caller persists next when changed, once.
//
// Counters are kept per origin (the feed's URL, the bucket and key, the
// repository), never globally: a program moved to another source starts
// that source's count afresh, while a replay from the same source is
// still refused.
func admit(s *state, l *source.Listing, app string, now time.Time) (next *state, changed bool, err error) {
	if l.App != "" && l.App != app {
		return s, false, fmt.Errorf("%w: metadata for %q, this is %q", ErrWrongApp, l.App, app)
	}
	if !l.Expires.IsZero() && now.After(l.Expires) {
		return s, false, fmt.Errorf("%w: at %s", ErrExpired, l.Expires.Format(time.RFC3339))
	}
	seen, seenEpoch := int64(0), int64(0)
	o, known := s.Origins[l.Origin]
	switch {
	case known:
		seen, seenEpoch = o.Serial, o.Epoch
	case len(s.Origins) == 0:
		// A state file from before per-origin counters: its one counter
		// belongs to whichever source comes first, the only safe guess.
		seen = s.legacySerial
	}
	floor, epoch, err := admitKeyEpoch(seen, seenEpoch, l)
	if err != nil {
		return s, false, err
	}
	if l.Serial < floor {
		return s, false, fmt.Errorf("%w: counter %d, seen %d from %s", ErrReplayed, l.Serial, floor, originName(l.Origin))
	}
	if known && l.Serial == seen && epoch == seenEpoch {
		return s, false, nil
	}
	n := *s
	n.Origins = maps.Clone(s.Origins)
	if n.Origins == nil {
		n.Origins = make(map[string]*origin)
	}
	n.Origins[l.Origin] = &origin{Serial: l.Serial, Epoch: epoch}
	n.legacySerial = 0
	return &n, true, nil
}

func originName(o string) string {
	if o == "" {
		return "this source"
	}
	return o
}

// startPhase is what New must do about a pending version it finds in the
// state, decided by startupPhase.
type startPhase int

const (
	// startClean: nothing pending for this version; nothing to do.
	startClean startPhase = iota
	// startFinishRollback: a rollback put this (older) binary back and a
	// crash stopped it before the bookkeeping: mark the release bad.
	startFinishRollback
	// startCount: this is the pending version starting again; count it.
	startCount
	// startRollBack: this pending version started too often, or its
	// confirm deadline passed: roll it back.
	startRollBack
)

// startupPhase decides, purely, what a start of version means for the
// pending release p. A pending version may start MaxStarts times without
// confirming; the start after that (MaxStarts+1) rolls it back.
func startupPhase(p *pending, version string, maxStarts int, confirmTimeout time.Duration, now time.Time) (phase startPhase, why string) {
	switch {
	case p == nil:
		return startClean, ""
	case p.RollingBack && sameVersion(p.From, version):
		return startFinishRollback, ""
	case !sameVersion(p.Version, version):
		return startClean, ""
	case p.RollingBack:
		return startRollBack, "a rollback was cut short"
	case p.Starts+1 > maxStarts:
		return startRollBack, fmt.Sprintf("started %d times without confirming", p.Starts+1)
	case confirmTimeout > 0 && now.Sub(p.Since) > confirmTimeout:
		return startRollBack, fmt.Sprintf("not confirmed within %v", confirmTimeout)
	}
	return startCount, ""
}
