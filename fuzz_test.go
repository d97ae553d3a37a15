package update

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"testing"
)

// FuzzLoadState feeds loadState any state.json: one written by an older
// updater, half-written by a crash, grown or garbled on disk. It must never
// panic, must read through its size limit (a larger file is refused, not
// read whole), must refuse with a *StateError wrapping ErrState (updating
// stops; the counters are never silently forgotten), and what it accepts
// must save and load back to the same state. (A file over the limit is
// too large for the fuzzer to make; TestCorruptStateStopsUpdating has one.)
func FuzzLoadState(f *testing.F) {
	for _, seed := range []string{
		`{}`,
		`{"origins":{"https://example.com/hello/feed.json":{"serial":1767225600}},` +
			`"pending":{"version":"1.1.0","from":"1.0.0","target":"/usr/local/bin/hello","since":"2026-01-01T00:00:00Z","starts":2},` +
			`"bad":[{"version":"1.2.0","why":"probe failed","since":"2026-01-02T00:00:00Z"}]}`,
		`{"serial":42,"bad":["1.2.0","v1.3.0"]}`, // before counters per origin
		`{"origins":{"":{"serial":-1}},"pending":{"rolling_back":true}}`,
		`{"origins":{"s3://b/k":{"serial":9223372036854775807,"key_epoch":3}}}`,
		`{"bad":{"not":"a list"}}`,
		`{"pending":null,"bad":null,"origins":null}`,
		`{"origins":`, // cut short by a crash
		"\x00\x00\x00",
		"",
	} {
		f.Add([]byte(seed))
	}
	// One folder per worker process, reused: its runs are sequential, and a
	// fresh folder per run would cost more than loadState itself.
	dir, again := f.TempDir(), f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(statePath(dir), data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := loadState(dir)
		if err != nil {
			var se *StateError
			if !errors.As(err, &se) || !errors.Is(err, ErrState) || se.Path != statePath(dir) {
				t.Fatalf("not a *StateError wrapping ErrState naming the file: %v", err)
			}
			return
		}
		if len(data) > maxStateSize {
			t.Fatalf("accepted %d bytes, over the %d limit", len(data), maxStateSize)
		}
		// What was accepted is kept as it was read.
		first, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("an accepted state does not marshal: %v", err)
		}
		if err := saveState(again, s); err != nil {
			t.Fatalf("saveState: %v", err)
		}
		s2, err := loadState(again)
		if err != nil {
			t.Fatalf("a saved state does not load: %v\n%s", err, first)
		}
		second, _ := json.Marshal(s2)
		if !bytes.Equal(first, second) {
			t.Fatalf("save and load changed the state:\n%s\n%s", first, second)
		}
		_ = s.isBad("1.0.0")
	})
}
