package update

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"time"

	"github.com/molt-go/update/source"
)

// NotYet is a newer release that a staged rollout does not offer this
// machine yet.
type NotYet struct {
	Version string
	// At is when the rollout reaches this machine, by its published
	// phases; zero when no phase will (a paused or partial rollout).
	At time.Time
}

// bucket is this installation's place in a release's rollout, in [0, 100):
// a stable hash of install ID, app and version, so that phases grow the
// same set of machines and each release draws a different set.
func bucket(installID, app, version string) float64 {
	h := sha256.Sum256([]byte(installID + "\x00" + app + "\x00" + version))
	return float64(binary.BigEndian.Uint64(h[:8])>>11) / float64(1<<53) * 100
}

// offered reports whether rollout r offers the release to a machine in
// bucket b at now, and when it will if not (zero if never by the phases
// published). A nil rollout offers it to all.
func offered(r *source.Rollout, b float64, now time.Time) (bool, time.Time) {
	if r == nil {
		return true, time.Time{}
	}
	if r.Paused || len(r.Phases) == 0 {
		return b < r.Percent, time.Time{}
	}
	cur := -1.0
	for _, p := range r.Phases {
		if !now.Before(p.Start) {
			cur = p.Percent
		}
	}
	if b < cur {
		return true, time.Time{}
	}
	for _, p := range r.Phases {
		if p.Start.After(now) && b < p.Percent {
			return false, p.Start
		}
	}
	return false, time.Time{}
}

// newInstallID makes the random ID an installation keeps for good.
func newInstallID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
