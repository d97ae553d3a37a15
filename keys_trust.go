package update

import (
	"fmt"

	"github.com/molt-go/update/source"
)

// admitKeyEpoch is the trust rule of key epochs (source.Listing.KeyEpoch),
// for admit, pure: the serial and the key epoch seen from an origin and
// the listing in; the serial floor that applies to the listing and the
// epoch to record out. Counters are ordered by (epoch, serial):
//
//   - a listing without an epoch (0: not signed under a key hierarchy)
//     keeps the epoch seen, and its serial is held to the serial seen;
//   - a lower epoch than seen is a replay (ErrReplayed): metadata signed by
//     a key of an older key list, brought back with that list, perhaps
//     after the key was revoked;
//   - a higher epoch starts the serial afresh (floor 0): metadata signed by
//     a key issued after those seen, so a serial that a stolen key pushed
//     to the top, before it was revoked, cannot lock the new key out (the
//     fast-forward attack; TUF forgets the old timestamp when its key
//     rotates, for the same reason);
//   - the same epoch holds the serial to the serial seen.
//
// The price of starting afresh is that, the first time a newer key's
// metadata is seen, an older feed signed by that same newer key (issued
// after it, and not expired) is admitted too: a mirror can show the
// client a feed that is days old once, as a mirror that freezes can.
func admitKeyEpoch(seenSerial, seenEpoch int64, l *source.Listing) (floor, epoch int64, err error) {
	switch {
	case l.KeyEpoch == 0:
		return seenSerial, seenEpoch, nil
	case l.KeyEpoch < seenEpoch:
		return 0, 0, fmt.Errorf("%w: signed by a key of key list %d, seen keys of key list %d from %s",
			ErrReplayed, l.KeyEpoch, seenEpoch, originName(l.Origin))
	case l.KeyEpoch > seenEpoch:
		return 0, l.KeyEpoch, nil
	}
	return seenSerial, seenEpoch, nil
}
