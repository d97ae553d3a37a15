package update

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/molt-go/update/source"
)

// TestCorruptStateStopsUpdating: a state file that cannot be read does not
// stop the program (New succeeds) but stops updating (Check says ErrState,
// naming the file), and nothing is downloaded, installed or reset.
func TestCorruptStateStopsUpdating(t *testing.T) {
	t.Parallel()
	cases := map[string]func(t *testing.T, path string){
		"not json": func(t *testing.T, path string) { writeFile(t, path, []byte(`{"origins": {"": {"serial": 10}`)) },
		"bad marks of the wrong type": func(t *testing.T, path string) {
			writeFile(t, path, []byte(`{"serial": 3, "bad": 5}`))
		},
		"larger than the cap": func(t *testing.T, path string) {
			writeFile(t, path, append([]byte(`{"serial": 3, "x": "`), bytes.Repeat([]byte("a"), maxStateSize)...))
		},
		"a folder": func(t *testing.T, path string) {
			if err := os.MkdirAll(path, 0o700); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, corrupt := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			src := newMem("1.1.0", []byte("new"))
			o := opts(t, src)
			path := statePath(o.StateDir)
			corrupt(t, path)
			before, _ := os.ReadFile(path)
			u, err := New(o)
			if err != nil || u == nil {
				t.Fatalf("New with a corrupt state: %v, %v; want an updater", u, err)
			}
			res, err := u.Check(context.Background())
			var se *StateError
			if !errors.Is(err, ErrState) || !errors.As(err, &se) || se.Path != path {
				t.Fatalf("Check: %v, want ErrState naming %s", err, path)
			}
			if res == nil || res.Updated {
				t.Fatalf("Check = %+v", res)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
			if _, err := u.Forget("1.1.0"); !errors.Is(err, ErrState) {
				t.Fatalf("Forget: %v, want ErrState", err)
			}
			if n := src.opens.Load(); n != 0 {
				t.Fatalf("downloaded %d times", n)
			}
			if got := content(t, o.Target); got != "old" {
				t.Fatalf("target %q", got)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
				t.Fatal("the corrupt state file was rewritten: the replay counters would be lost")
			}
		})
	}
}

// TestCorruptStateAfterNew: a state file corrupted while the program runs
// stops the next Check too.
func TestCorruptStateAfterNew(t *testing.T) {
	t.Parallel()
	o := opts(t, newMem("1.1.0", []byte("new")))
	u, _ := New(o)
	writeFile(t, statePath(o.StateDir), []byte("garbage"))
	_, err := u.Check(context.Background())
	var se *StateError
	var ue *Error
	if !errors.As(err, &se) || !errors.As(err, &ue) || ue.Step != StepFind {
		t.Fatalf("Check: %v, want a StateError at the find step", err)
	}
	if got := content(t, o.Target); got != "old" {
		t.Fatalf("target %q", got)
	}
}

// TestLegacyStateBadReleases: a state file from before per-origin
// counters ("serial", and "bad" as bare versions) is read: its bad
// releases are skipped, with a reason.
func TestLegacyStateBadReleases(t *testing.T) {
	t.Parallel()
	src := newMem("1.1.0", []byte("new"))
	o := opts(t, src)
	writeFile(t, statePath(o.StateDir), []byte(`{"serial": 5, "bad": ["1.1.0"]}`))
	u, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	res, err := u.Check(context.Background())
	if err != nil || res.Updated {
		t.Fatalf("Check = %+v, %v; want 1.1.0 skipped", res, err)
	}
	if len(res.Skipped) != 1 || res.Skipped[0].Version != "1.1.0" || res.Skipped[0].Why != "marked bad by an earlier version of the updater" || !res.Skipped[0].Since.IsZero() {
		t.Fatalf("Skipped %+v, want 1.1.0 with the legacy reason", res.Skipped)
	}
	if n := src.opens.Load(); n != 0 {
		t.Fatalf("downloaded a bad release %d times", n)
	}
	// The file is now in the new form: the counter moved to the origin.
	raw := rawState(t, o.StateDir)
	if _, ok := raw["serial"]; ok {
		t.Errorf("legacy serial kept beside the origins: %s", raw)
	}
	s := readStateFile(t, o.StateDir)
	if s.Origins[""] == nil || s.Origins[""].Serial != 10 || !s.isBad("1.1.0") {
		t.Fatalf("state %+v, want origin counter 10 and 1.1.0 bad", s)
	}
}

// TestLegacyStateSerialProtectsFirstOrigin: the legacy counter belongs to
// the first source seen: a lower counter there is a replay, while a second
// source counts afresh.
func TestLegacyStateSerialProtectsFirstOrigin(t *testing.T) {
	t.Parallel()
	src := newMem("1.1.0", []byte("new"))
	src.listing.Origin = "https://a.example/feed.json"
	o := opts(t, src)
	writeFile(t, statePath(o.StateDir), []byte(`{"serial": 5, "bad": ["0.9.0"]}`))
	u, _ := New(o)

	src.listing.Serial = 4
	_, err := u.Find(context.Background())
	if !errors.Is(err, ErrReplayed) || !contains(err.Error(), "counter 4, seen 5", "a.example") {
		t.Fatalf("Find with counter 4 under legacy 5: %v, want ErrReplayed", err)
	}
	src.listing.Serial = 5
	if _, err := u.Find(context.Background()); err != nil {
		t.Fatalf("Find with the same counter: %v", err)
	}
	other := newMem("1.1.0", []byte("new"))
	other.listing.Origin, other.listing.Serial = "s3://b/feed.json", 1
	o2 := o
	o2.Source = other
	u2, _ := New(o2)
	if _, err := u2.Find(context.Background()); err != nil {
		t.Fatalf("a second origin with counter 1: %v, want it counted afresh", err)
	}
	src.listing.Serial = 4
	if _, err := u.Find(context.Background()); !errors.Is(err, ErrReplayed) {
		t.Fatalf("first origin back to 4: %v, want ErrReplayed", err)
	}
	s := readStateFile(t, o.StateDir)
	if s.Origins["https://a.example/feed.json"].Serial != 5 || s.Origins["s3://b/feed.json"].Serial != 1 {
		t.Fatalf("origins %+v", s.Origins)
	}
}

// TestLegacySerialKeptUntilAnOriginTakesIt: rewriting a legacy state
// before any source was seen (Forget) keeps its counter.
func TestLegacySerialKeptUntilAnOriginTakesIt(t *testing.T) {
	t.Parallel()
	src := newMem("1.1.0", []byte("new"))
	o := opts(t, src)
	writeFile(t, statePath(o.StateDir), []byte(`{"serial": 5, "bad": ["1.1.0", "1.2.0"]}`))
	u, _ := New(o)
	had, err := u.Forget("1.2.0")
	if err != nil || !had {
		t.Fatalf("Forget(1.2.0) = %v, %v", had, err)
	}
	raw := rawState(t, o.StateDir)
	if string(raw["serial"]) != "5" {
		t.Fatalf("state after Forget %v: the legacy serial was dropped", raw)
	}
	src.listing.Serial = 4
	if _, err := u.Find(context.Background()); !errors.Is(err, ErrReplayed) {
		t.Fatalf("Find with counter 4: %v, want ErrReplayed", err)
	}
	if s := readStateFile(t, o.StateDir); s.isBad("1.2.0") || !s.isBad("1.1.0") {
		t.Fatalf("bad %+v, want only 1.1.0", s.Bad)
	}
}

// TestForget: Forget reports whether there was a mark, and rewrites the
// state only then.
func TestForget(t *testing.T) {
	t.Parallel()
	o := opts(t, newMem("1.1.0", []byte("new")))
	u, _ := New(o)
	if had, err := u.Forget("1.1.0"); err != nil || had {
		t.Fatalf("Forget with no marks: %v, %v", had, err)
	}
	if _, err := os.Stat(statePath(o.StateDir)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Forget of nothing wrote the state: %v", err)
	}
	s := &state{}
	s.markBad("v1.1.0", "probe: it says 9.9.9", time.Now())
	s.markBad("1.1.0", "a second mark of the same version", time.Now())
	if len(s.Bad) != 1 {
		t.Fatalf("marks %+v, want one per version", s.Bad)
	}
	if err := saveState(o.StateDir, s); err != nil {
		t.Fatal(err)
	}
	if res, _ := u.Check(context.Background()); res.Updated || len(res.Skipped) != 1 {
		t.Fatalf("Check with 1.1.0 bad = %+v", res)
	}
	if had, err := u.Forget("1.1.0"); err != nil || !had {
		t.Fatalf("Forget(1.1.0) = %v, %v", had, err)
	}
	if res, err := u.Check(context.Background()); err != nil || !res.Updated {
		t.Fatalf("Check after Forget = %+v, %v", res, err)
	}
}

// TestForgetUnderAnothersLock: Forget while another updater holds the
// locks is refused with ErrInProgress and changes nothing.
func TestForgetUnderAnothersLock(t *testing.T) {
	t.Parallel()
	o := opts(t, newMem("1.1.0", []byte("new")))
	s := &state{}
	s.markBad("1.1.0", "why", time.Now())
	if err := saveState(o.StateDir, s); err != nil {
		t.Fatal(err)
	}
	u, _ := New(o)
	held := holdLocks(t, o)
	if _, err := u.Forget("1.1.0"); !errors.Is(err, ErrInProgress) {
		t.Fatalf("Forget: %v, want ErrInProgress", err)
	}
	held.unlock()
	if !readStateFile(t, o.StateDir).isBad("1.1.0") {
		t.Fatal("the mark went despite the refusal")
	}
}

func TestStateJSON(t *testing.T) {
	t.Parallel()
	since := time.Date(2025, 6, 7, 8, 9, 10, 0, time.UTC)
	s := &state{
		Origins: map[string]*origin{"https://x/feed.json": {Serial: 42}},
		Pending: &pending{Version: "1.1.0", From: "1.0.0", Target: "/opt/app", Since: since, Starts: 2, RollingBack: true},
		Bad:     []badMark{{Version: "0.9.0", Why: "probe", Since: since}},
		// Every field set: UnmarshalJSON names the fields it reads, and the
		// DeepEqual below catches one it forgets.
		InstallID: "0123456789abcdef",
		Previous:  "1.0.0",
		Installed: &installedFile{Digest: "sha256:" + strings.Repeat("ab", 32), Stamp: "11 1700000000000000000 66306 4242 1700000000.5"},
	}
	if v := reflect.ValueOf(*s); v.NumField() != 7 {
		t.Fatalf("state has %d fields: set the new one above so the round trip covers it", v.NumField())
	}
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), `"serial":0`) || strings.Contains(string(data), `"serial":42`) == false {
		t.Fatalf("state JSON %s", data)
	}
	var back state
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, s) {
		t.Fatalf("round trip: %+v, want %+v", back, s)
	}
	for _, in := range []string{`{}`, `{"bad": null}`, `{"bad": []}`} {
		var st state
		if err := json.Unmarshal([]byte(in), &st); err != nil || len(st.Bad) != 0 {
			t.Errorf("%s: %+v, %v", in, st, err)
		}
	}
	var legacy state
	if err := json.Unmarshal([]byte(`{"serial": 7, "bad": ["1.0.1", "v1.0.2"]}`), &legacy); err != nil {
		t.Fatal(err)
	}
	if legacy.legacySerial != 7 || !legacy.isBad("1.0.2") || !legacy.isBad("v1.0.1") || legacy.badMarkOf("1.0.3") != nil {
		t.Fatalf("legacy %+v", legacy)
	}
	if err := json.Unmarshal([]byte(`{"bad": [1, 2]}`), &legacy); err == nil || !strings.HasPrefix(err.Error(), "bad:") {
		t.Fatalf("bad marks of numbers: %v, want an error", err)
	}
}

// TestStateSavedWithPrivateMode: the state is the updater's own business.
func TestStateSavedWithPrivateMode(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "a", "state")
	if err := saveState(dir, &state{Origins: map[string]*origin{"": {Serial: 1}}}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(statePath(dir))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("state file mode %v, want private", fi.Mode())
	}
	// A state dir that cannot be made is a StateError naming it.
	file := filepath.Join(t.TempDir(), "file")
	writeFile(t, file, nil)
	var se *StateError
	if err := saveState(filepath.Join(file, "state"), &state{}); !errors.As(err, &se) || !errors.Is(err, ErrState) {
		t.Fatalf("saveState under a file: %v, want a StateError", err)
	}
}

// TestAdmitThroughUpdater: the trust verdicts on expiry and app reach the caller.
func TestAdmitThroughUpdater(t *testing.T) {
	t.Parallel()
	src := newMem("1.1.0", []byte("new"))
	src.listing.Expires = time.Now().Add(time.Hour)
	o := opts(t, src)
	o.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	u, _ := New(o)
	if _, err := u.Find(context.Background()); !errors.Is(err, ErrExpired) {
		t.Fatalf("Find past the expiry: %v, want ErrExpired", err)
	}
	src.listing = source.Listing{App: "other", Serial: 11}
	if _, err := u.Find(context.Background()); !errors.Is(err, ErrWrongApp) {
		t.Fatalf("Find of another app's listing: %v, want ErrWrongApp", err)
	}
}

// TestStateOfTheWrongShape: valid JSON of the wrong types is corrupt too.
func TestStateOfTheWrongShape(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`{"origins": 5}`, `[]`, `{"pending": "1.1.0"}`} {
		dir := t.TempDir()
		writeFile(t, statePath(dir), []byte(in))
		var se *StateError
		if _, err := loadState(dir); !errors.As(err, &se) || !strings.Contains(err.Error(), "corrupt") {
			t.Errorf("loadState of %s: %v, want a corrupt StateError", in, err)
		}
	}
	// A state path that cannot even be opened (a file where a folder is).
	file := filepath.Join(t.TempDir(), "file")
	writeFile(t, file, nil)
	var se *StateError
	if _, err := loadState(file); !errors.As(err, &se) || se.Path != statePath(file) {
		t.Fatalf("loadState under a file: %v, want a StateError naming the file", err)
	}
}

// TestForgetOnACorruptState: Forget reads the state under the lock and
// says when it cannot.
func TestForgetOnACorruptState(t *testing.T) {
	t.Parallel()
	o := opts(t, newMem("1.1.0", []byte("new")))
	u, _ := New(o)
	writeFile(t, statePath(o.StateDir), []byte("garbage"))
	if had, err := u.Forget("1.1.0"); !errors.Is(err, ErrState) || had {
		t.Fatalf("Forget = %v, %v; want ErrState", had, err)
	}
	if got := content(t, statePath(o.StateDir)); got != "garbage" {
		t.Fatalf("the state was rewritten: %q", got)
	}
}

// TestStateBreaksDuringFind: a counter that cannot be saved stops the
// update at the find step: installing without it would let a replay in.
func TestStateBreaksDuringFind(t *testing.T) {
	t.Parallel()
	m := newMem("1.1.0", []byte("new"))
	var dir string
	src := &sourceFunc{
		releases: func(ctx context.Context) (*source.Listing, error) {
			p := statePath(dir)
			os.Remove(p)
			if err := os.MkdirAll(filepath.Join(p, "in the way"), 0o700); err != nil {
				return nil, err
			}
			return m.Releases(ctx, nil)
		},
		open: m.Open,
	}
	o := opts(t, src)
	dir = o.StateDir
	u, _ := New(o)
	_, err := u.Check(context.Background())
	var ue *Error
	if !errors.Is(err, ErrState) || !errors.As(err, &ue) || ue.Step != StepFind {
		t.Fatalf("Check: %v, want ErrState at the find step", err)
	}
	if n := m.opens.Load(); n != 0 || content(t, o.Target) != "old" {
		t.Fatal("installed without saving the counter")
	}
}
