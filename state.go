package update

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/molt-go/update/internal/atomicfile"
)

// state is what the updater remembers between runs, in StateDir/state.json.
// It lives outside the executable's folder on purpose: an update rewrites
// the executable, never this, so a tampered release cannot lower the
// counters that protect against replayed metadata. Every field is read by
// a rule: Origins by admit, Pending by the startup phases and Confirm, Bad
// by the choice of a release, Installed by the choice of a patch.
type state struct {
	// Origins holds, per source identity (source.Listing.Origin), the
	// highest metadata counter seen from it.
	Origins map[string]*origin `json:"origins,omitempty"`
	// Pending is the release installed but not yet confirmed.
	Pending *pending `json:"pending,omitempty"`
	// Bad lists releases that failed here; they are skipped, and said to be,
	// until Forget.
	Bad []badMark `json:"bad,omitempty"`
	// InstallID is this installation's random ID, made once: its bucket
	// in staged rollouts, and what pins name.
	InstallID string `json:"install_id,omitempty"`
	// Previous is the version the applier's backup holds (the one that ran
	// before the last install), so that a rollback after the confirm (a
	// withdrawn release) can say where it goes; empty once the backup is
	// used or when nothing was installed here.
	Previous string `json:"previous,omitempty"`
	// Installed is the digest of the executable this updater installed
	// last, and how the file looked then (see installedFile).
	Installed *installedFile `json:"installed,omitempty"`

	// legacySerial is the one counter of a state file written before
	// counters were kept per origin. It protects the first origin seen,
	// the only safe guess.
	legacySerial int64
}

// origin is the trust state of one source.
type origin struct {
	Serial int64 `json:"serial"`
	// Epoch is the key list version of the key that signed the metadata
	// seen (see admitKeyEpoch); zero without a key hierarchy.
	Epoch int64 `json:"epoch,omitempty"`
}

// badMark records why and since when a release is skipped.
type badMark struct {
	Version string    `json:"version"`
	Why     string    `json:"why"`
	Since   time.Time `json:"since"`
}

type pending struct {
	Version string    `json:"version"`
	From    string    `json:"from"`
	Target  string    `json:"target"`
	Since   time.Time `json:"since"`
	// Starts counts the times the pending version started without
	// confirming.
	Starts int `json:"starts"`
	// RollingBack is set before a rollback begins, so that a crash halfway
	// is finished by the next start.
	RollingBack bool `json:"rolling_back,omitempty"`
}

// UnmarshalJSON reads the state file, including the form written before
// counters were kept per origin ("serial", and "bad" as plain versions).
func (s *state) UnmarshalJSON(data []byte) error {
	var raw struct {
		Origins   map[string]*origin `json:"origins"`
		Pending   *pending           `json:"pending"`
		Bad       json.RawMessage    `json:"bad"`
		Serial    int64              `json:"serial"`
		InstallID string             `json:"install_id"`
		Previous  string             `json:"previous"`
		Installed *installedFile     `json:"installed"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	*s = state{Origins: raw.Origins, Pending: raw.Pending, InstallID: raw.InstallID, Previous: raw.Previous, Installed: raw.Installed, legacySerial: raw.Serial}
	if len(raw.Bad) == 0 || string(raw.Bad) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw.Bad, &s.Bad); err == nil {
		return nil
	}
	var versions []string
	if err := json.Unmarshal(raw.Bad, &versions); err != nil {
		return fmt.Errorf("bad: %w", err)
	}
	for _, v := range versions {
		s.Bad = append(s.Bad, badMark{Version: v, Why: "marked bad by an earlier version of the updater"})
	}
	return nil
}

// MarshalJSON writes the state, keeping a legacy counter that no origin
// has taken over yet.
func (s *state) MarshalJSON() ([]byte, error) {
	type plain state
	out := struct {
		*plain
		Serial int64 `json:"serial,omitempty"`
	}{plain: (*plain)(s)}
	if len(s.Origins) == 0 {
		out.Serial = s.legacySerial
	}
	return json.Marshal(out)
}

// maxStateSize bounds the state file: it holds a few counters and
// versions, and it is read through this limit, so a file grown by accident
// or malice costs no memory.
const maxStateSize = 1 << 20

func statePath(dir string) string { return filepath.Join(dir, "state.json") }

// loadState reads the state file. A missing file is the empty state; an
// unreadable, oversized or corrupt one is an *StateError wrapping
// ErrState, so that updating stops (the replay counters must not be
// forgotten) while the program goes on.
func loadState(dir string) (*state, error) {
	path := statePath(dir)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &state{}, nil
	}
	if err != nil {
		return nil, &StateError{Path: path, Err: err}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxStateSize+1))
	if err != nil {
		return nil, &StateError{Path: path, Err: err}
	}
	if len(data) > maxStateSize {
		return nil, &StateError{Path: path, Err: fmt.Errorf("larger than %d bytes", maxStateSize)}
	}
	var s state
	if err := json.Unmarshal(data, &s); err != nil {
		// A corrupt state file must not be silently reset: that would
		// forget the replay counter. Say so and let a person remove it.
		return nil, &StateError{Path: path, Err: fmt.Errorf("corrupt: %w", err)}
	}
	return &s, nil
}

func saveState(dir string, s *state) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return &StateError{Path: dir, Err: err}
	}
	if err := atomicfile.WriteFile(statePath(dir), data, 0o600); err != nil {
		return &StateError{Path: statePath(dir), Err: err}
	}
	return nil
}

// cleanStateDir removes the temporary files that a crash in the middle of
// an atomic write left in the state directory. The caller holds the lock.
func cleanStateDir(dir string) error { return atomicfile.CleanTemps(statePath(dir)) }

// badMarkOf returns the mark of version, or nil.
func (s *state) badMarkOf(version string) *badMark {
	for i := range s.Bad {
		if sameVersion(s.Bad[i].Version, version) {
			return &s.Bad[i]
		}
	}
	return nil
}

func (s *state) isBad(version string) bool { return s.badMarkOf(version) != nil }

func (s *state) markBad(version, why string, now time.Time) {
	if !s.isBad(version) {
		s.Bad = append(s.Bad, badMark{Version: version, Why: why, Since: now})
	}
}

// forget removes version's bad mark and reports whether there was one.
func (s *state) forget(version string) bool {
	n := len(s.Bad)
	s.Bad = slices.DeleteFunc(s.Bad, func(b badMark) bool { return sameVersion(b.Version, version) })
	return len(s.Bad) != n
}
