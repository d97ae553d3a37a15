package update

import (
	"encoding/json"
	"errors"
	"fmt"
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
// counters that protect against replayed metadata.
type state struct {
	// Serial is the highest metadata counter seen from the source.
	Serial int64 `json:"serial,omitempty"`
	// Highest is the highest release version seen in trusted metadata.
	Highest string `json:"highest,omitempty"`
	// Pending is the release installed but not yet confirmed.
	Pending *pending `json:"pending,omitempty"`
	// Bad lists releases that were rolled back; they are never tried again.
	Bad []string `json:"bad,omitempty"`
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

// maxStateSize bounds the state file: it holds a few counters and versions.
const maxStateSize = 1 << 20

func statePath(dir string) string { return filepath.Join(dir, "state.json") }

func loadState(dir string) (*state, error) {
	data, err := os.ReadFile(statePath(dir))
	if errors.Is(err, fs.ErrNotExist) {
		return &state{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading state: %w", err)
	}
	if len(data) > maxStateSize {
		return nil, fmt.Errorf("state file %s is larger than %d bytes", statePath(dir), maxStateSize)
	}
	var s state
	if err := json.Unmarshal(data, &s); err != nil {
		// A corrupt state file must not be silently reset: that would
		// forget the replay counter. Say so and let a person remove it.
		return nil, fmt.Errorf("state file %s is corrupt (remove it to start afresh): %w", statePath(dir), err)
	}
	return &s, nil
}

func saveState(dir string, s *state) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("making state dir: %w", err)
	}
	return atomicfile.WriteFile(statePath(dir), data, 0o600)
}

func (s *state) isBad(version string) bool { return slices.Contains(s.Bad, version) }

func (s *state) markBad(version string) {
	if !s.isBad(version) {
		s.Bad = append(s.Bad, version)
	}
}
