package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/molt-go/update/internal/atomicfile"
	"github.com/molt-go/update/internal/lock"
	"github.com/molt-go/update/source/feed"
)

// RolloutsFile is the file, in a releases folder, that holds the folder's
// staged rollouts, withdrawn releases and pins. It is not signed: it is
// the publisher's plan, which Build and the Server put into the payloads
// they sign. pkgserver rollout and pin edit it (EditRollouts); a running
// Server sees each change at its next request and signs a new feed.
//
//	{"apps": {"hello": {
//	  "releases": {"1.2.0": {"percent": 10, "since": "..."},
//	               "1.3.0": {"phases": [{"percent": 1, "start": "..."}, ...], "since": "...",
//	                         "paused": true, "paused_at": "...", "paused_percent": 0,
//	                         "halted_at": "...", "reason": "3 of 4 machines ..."},
//	               "1.1.5": {"percent": 100, "since": "...", "withdrawn_at": "..."}},
//	  "pins": [{"version": "1.1.0", "install_ids": ["..."], "labels": ["canary"]}]}}}
const RolloutsFile = "rollouts.json"

// maxRolloutsFile caps the rollouts file: thousands of pins fit in it.
const maxRolloutsFile = 4 << 20

// Errors of the rollout commands, to be tested with errors.Is.
var (
	// ErrBadRollout means a version, percentage or phase list given to a
	// rollout or pin command is not valid.
	ErrBadRollout = errors.New("server: bad rollout")
	// ErrNoRollout means the release has no rollout to pause or resume.
	ErrNoRollout = errors.New("server: the release has no rollout")
	// ErrWithdrawn means the release was withdrawn (rollout abort); it
	// cannot be rolled out again: publish a new version.
	ErrWithdrawn = errors.New("server: the release is withdrawn")
	// ErrNotPinned means unpin found none of the machines or labels it was
	// given in a pin.
	ErrNotPinned = errors.New("server: not pinned")
	// ErrRolloutsFile means the rollouts file cannot be read or is not
	// valid. Build and the Server then refuse to sign: a feed without the
	// rollouts would offer every staged release to every machine.
	ErrRolloutsFile = errors.New("server: bad rollouts file")
)

// Rollouts is the content of the rollouts file.
type Rollouts struct {
	Apps map[string]*AppRollouts `json:"apps"`
}

// AppRollouts is one app's part of the rollouts file.
type AppRollouts struct {
	// Releases are the staged (or withdrawn) releases by version, written
	// without a leading "v".
	Releases map[string]*RolloutState `json:"releases,omitempty"`
	// Pins hold machines at a version; a machine or label is in one pin
	// at most.
	Pins []feed.Pin `json:"pins,omitempty"`
}

// RolloutState is one release's rollout as the publisher set it.
type RolloutState struct {
	// Percent is the fraction offered, for a rollout without phases.
	Percent float64 `json:"percent"`
	// Phases are fractions and when each starts, in time order.
	Phases []feed.Phase `json:"phases,omitempty"`
	// Since is when the rollout was set or last resumed: the automatic
	// halt counts the failures reported from then on.
	Since time.Time `json:"since"`
	// Paused freezes the fraction at PausedPercent from PausedAt: the
	// fraction reached when an operator paused, 0 when the server halted.
	Paused        bool      `json:"paused,omitempty"`
	PausedAt      time.Time `json:"paused_at,omitzero"`
	PausedPercent float64   `json:"paused_percent,omitempty"`
	// HaltedAt and Reason say when and why the server paused the rollout
	// by itself (failures reported over the threshold).
	HaltedAt time.Time `json:"halted_at,omitzero"`
	Reason   string    `json:"reason,omitempty"`
	// WithdrawnAt is when the release was withdrawn (rollout abort): the
	// feed no longer lists it and lists it as withdrawn instead.
	WithdrawnAt time.Time `json:"withdrawn_at,omitzero"`
}

// Withdrawn reports whether the release was withdrawn.
func (r *RolloutState) Withdrawn() bool { return !r.WithdrawnAt.IsZero() }

// Current is the fraction offered at now, and the phase in force (1 for
// the first; 0 before the first starts or without phases).
func (r *RolloutState) Current(now time.Time) (percent float64, phase int) {
	switch {
	case r.Withdrawn():
		return 0, 0
	case r.Paused:
		return r.PausedPercent, 0
	case len(r.Phases) == 0:
		return r.Percent, 0
	}
	for i, p := range r.Phases {
		if !now.Before(p.Start) {
			percent, phase = p.Percent, i+1
		}
	}
	return percent, phase
}

// signed is the rollout as the feed carries it.
func (r *RolloutState) signed() *feed.Rollout {
	switch {
	case r.Paused:
		return &feed.Rollout{Paused: true, Percent: r.PausedPercent}
	case len(r.Phases) > 0:
		return &feed.Rollout{Phases: slices.Clone(r.Phases)}
	}
	return &feed.Rollout{Percent: r.Percent}
}

// checkPlan checks a percentage or a list of phases (not both).
func checkPlan(percent float64, phases []feed.Phase) error {
	if len(phases) > 0 && percent != 0 {
		return fmt.Errorf("%w: a percentage or phases, not both", ErrBadRollout)
	}
	valid := func(p float64) bool { return p >= 0 && p <= 100 } // false for NaN
	if !valid(percent) {
		return fmt.Errorf("%w: percentage %v is not from 0 to 100", ErrBadRollout, percent)
	}
	for i, ph := range phases {
		switch {
		case !valid(ph.Percent):
			return fmt.Errorf("%w: phase %d: percentage %v is not from 0 to 100", ErrBadRollout, i+1, ph.Percent)
		case ph.Start.IsZero():
			return fmt.Errorf("%w: phase %d has no start", ErrBadRollout, i+1)
		case i > 0 && !ph.Start.After(phases[i-1].Start):
			return fmt.Errorf("%w: phase %d does not start after phase %d", ErrBadRollout, i+1, i)
		}
	}
	return nil
}

// ParsePhases reads phases written as 1%@0h,10%@24h,100%@72h: a percentage
// and, after '@', how long after now it starts (a Go duration such as 90m
// or 24h, or whole days such as 3d). Fractions must not shrink and starts
// must be in time order. Errors wrap ErrBadRollout.
func ParsePhases(s string, now time.Time) ([]feed.Phase, error) {
	now = now.UTC().Truncate(time.Second)
	var out []feed.Phase
	var lastOffset time.Duration
	for i, part := range strings.Split(s, ",") {
		pct, after, ok := strings.Cut(strings.TrimSpace(part), "@")
		if !ok {
			return nil, fmt.Errorf("%w: phase %q is not PERCENT%%@DELAY, such as 10%%@24h", ErrBadRollout, part)
		}
		p, err := ParsePercent(pct)
		if err != nil {
			return nil, err
		}
		d, err := parseDelay(after)
		if err != nil {
			return nil, fmt.Errorf("%w: phase %q: %v", ErrBadRollout, part, err)
		}
		switch {
		case d < 0:
			return nil, fmt.Errorf("%w: phase %q starts before now", ErrBadRollout, part)
		case i > 0 && d <= lastOffset:
			return nil, fmt.Errorf("%w: phase %q does not start after the one before it", ErrBadRollout, part)
		case i > 0 && p < out[i-1].Percent:
			return nil, fmt.Errorf("%w: phase %q offers less than the one before it", ErrBadRollout, part)
		}
		lastOffset = d
		out = append(out, feed.Phase{Percent: p, Start: now.Add(d)})
	}
	return out, nil
}

// ParsePercent reads a percentage from 0 to 100, with or without '%'.
func ParsePercent(s string) (float64, error) {
	p, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "%"), 64)
	if err != nil || !(p >= 0 && p <= 100) {
		return 0, fmt.Errorf("%w: percentage %q is not a number from 0 to 100", ErrBadRollout, s)
	}
	return p, nil
}

func parseDelay(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil {
			return 0, fmt.Errorf("delay %q is not whole days", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// NormalVersion writes a version as the feed and the rollouts file list
// it (no leading "v"); an error wraps ErrBadRollout.
func NormalVersion(v string) (string, error) {
	sv, err := semver.NewVersion(v)
	if err != nil {
		return "", fmt.Errorf("%w: version %q: %v", ErrBadRollout, v, err)
	}
	return sv.String(), nil
}

func (ro *Rollouts) app(name string, create bool) *AppRollouts {
	a := ro.Apps[name]
	if a == nil && create {
		if ro.Apps == nil {
			ro.Apps = make(map[string]*AppRollouts)
		}
		a = &AppRollouts{}
		ro.Apps[name] = a
	}
	return a
}

// release returns the rollout of app at version (normalized), or nil.
func (ro *Rollouts) release(app, version string) *RolloutState {
	if a := ro.Apps[app]; a != nil {
		return a.Releases[version]
	}
	return nil
}

func checkApp(app string) error {
	if !feed.ValidName(app) {
		return fmt.Errorf("%w: app name %q is empty or not a plain name", ErrBadRollout, app)
	}
	return nil
}

// Set stages app at version over the fleet: a plain percentage, or phases
// (see ParsePhases). It replaces any plan before, and ends a pause or a
// halt; failures count for the automatic halt from now.
func (ro *Rollouts) Set(app, version string, percent float64, phases []feed.Phase, now time.Time) error {
	if err := checkApp(app); err != nil {
		return err
	}
	v, err := NormalVersion(version)
	if err != nil {
		return err
	}
	if err := checkPlan(percent, phases); err != nil {
		return err
	}
	if r := ro.release(app, v); r != nil && r.Withdrawn() {
		return fmt.Errorf("%w: %s %s (since %s); publish a new version", ErrWithdrawn, app, v, r.WithdrawnAt.Format(time.RFC3339))
	}
	a := ro.app(app, true)
	if a.Releases == nil {
		a.Releases = make(map[string]*RolloutState)
	}
	a.Releases[v] = &RolloutState{Percent: percent, Phases: slices.Clone(phases), Since: now.UTC()}
	return nil
}

// active returns the rollout of app at version for pause and resume.
func (ro *Rollouts) active(app, version string) (*RolloutState, error) {
	v, err := NormalVersion(version)
	if err != nil {
		return nil, err
	}
	r := ro.release(app, v)
	switch {
	case r == nil:
		return nil, fmt.Errorf("%w: %s %s (rollout set stages it)", ErrNoRollout, app, v)
	case r.Withdrawn():
		return nil, fmt.Errorf("%w: %s %s", ErrWithdrawn, app, v)
	}
	return r, nil
}

// Pause freezes the rollout at the fraction it has reached: machines in
// it may still take the release, nobody else is offered it. Pausing a
// paused rollout changes nothing.
func (ro *Rollouts) Pause(app, version string, now time.Time) error {
	r, err := ro.active(app, version)
	if err != nil || r.Paused {
		return err
	}
	r.PausedPercent, _ = r.Current(now)
	r.Paused, r.PausedAt = true, now.UTC()
	return nil
}

// Resume ends a pause or a halt: the rollout goes on with its plan, the
// phases not started when it paused moved later by the time it was
// paused. Failures count for the automatic halt from now.
func (ro *Rollouts) Resume(app, version string, now time.Time) error {
	r, err := ro.active(app, version)
	if err != nil || !r.Paused {
		return err
	}
	if paused := now.Sub(r.PausedAt); paused > 0 {
		for i := range r.Phases {
			if r.Phases[i].Start.After(r.PausedAt) {
				r.Phases[i].Start = r.Phases[i].Start.Add(paused).Truncate(time.Second)
			}
		}
	}
	r.Paused, r.PausedAt, r.PausedPercent, r.HaltedAt, r.Reason = false, time.Time{}, 0, time.Time{}, ""
	r.Since = now.UTC()
	return nil
}

// Abort withdraws app at version, staged or not: the feed stops listing
// it and lists it as withdrawn, so machines that have not taken it never
// will, and those running it go back to the release before it.
func (ro *Rollouts) Abort(app, version string, now time.Time) error {
	if err := checkApp(app); err != nil {
		return err
	}
	v, err := NormalVersion(version)
	if err != nil {
		return err
	}
	a := ro.app(app, true)
	if a.Releases == nil {
		a.Releases = make(map[string]*RolloutState)
	}
	r := a.Releases[v]
	if r == nil {
		r = &RolloutState{Percent: 100, Since: now.UTC()}
		a.Releases[v] = r
	}
	if !r.Withdrawn() {
		r.WithdrawnAt = now.UTC()
	}
	return nil
}

// Halt pauses a running rollout at 0% for reason: nobody else is offered
// the release; machines on it stay. It does nothing, and reports false,
// for a release without a rollout, or one paused or withdrawn already.
func (ro *Rollouts) Halt(app, version, reason string, now time.Time) bool {
	v, err := NormalVersion(version)
	if err != nil {
		return false
	}
	r := ro.release(app, v)
	if r == nil || r.Paused || r.Withdrawn() {
		return false
	}
	r.Paused, r.PausedAt, r.PausedPercent = true, now.UTC(), 0
	r.HaltedAt, r.Reason = now.UTC(), reason
	return true
}

// Pin holds the machines with these install IDs and those with these
// labels at version: they neither upgrade past it nor take another
// release. A machine or label pinned elsewhere moves to this pin.
func (ro *Rollouts) Pin(app, version string, installIDs, labels []string) error {
	if err := checkApp(app); err != nil {
		return err
	}
	v, err := NormalVersion(version)
	if err != nil {
		return err
	}
	if len(installIDs) == 0 && len(labels) == 0 {
		return fmt.Errorf("%w: a pin needs an install ID or a label", ErrBadRollout)
	}
	for _, s := range slices.Concat(installIDs, labels) {
		if s == "" || strings.TrimSpace(s) != s {
			return fmt.Errorf("%w: install ID or label %q is empty or has spaces around it", ErrBadRollout, s)
		}
	}
	a := ro.app(app, true)
	a.unpin(installIDs, labels)
	i := slices.IndexFunc(a.Pins, func(p feed.Pin) bool { return p.Version == v })
	if i < 0 {
		a.Pins = append(a.Pins, feed.Pin{Version: v})
		i = len(a.Pins) - 1
	}
	p := &a.Pins[i]
	p.InstallIDs = sortedSet(append(p.InstallIDs, installIDs...))
	p.Labels = sortedSet(append(p.Labels, labels...))
	slices.SortFunc(a.Pins, func(x, y feed.Pin) int { return strings.Compare(x.Version, y.Version) })
	return nil
}

// Unpin lets these machines and labels update again: from the pin at
// version, or from any pin if version is empty. It fails with
// ErrNotPinned when none of them was pinned there.
func (ro *Rollouts) Unpin(app, version string, installIDs, labels []string) error {
	if err := checkApp(app); err != nil {
		return err
	}
	if version != "" {
		v, err := NormalVersion(version)
		if err != nil {
			return err
		}
		version = v
	}
	a := ro.app(app, false)
	if a == nil || a.unpinAt(version, installIDs, labels) == 0 {
		where := app
		if version != "" {
			where += " at " + version
		}
		return fmt.Errorf("%w: none of %v in the pins of %s", ErrNotPinned, slices.Concat(installIDs, labels), where)
	}
	return nil
}

// unpin removes the install IDs and labels from every pin, drops pins
// left empty, and returns how many it removed.
func (a *AppRollouts) unpin(installIDs, labels []string) int {
	return a.unpinAt("", installIDs, labels)
}

// unpinAt is unpin for the pin at version only, or every pin for "".
func (a *AppRollouts) unpinAt(version string, installIDs, labels []string) int {
	n := 0
	drop := func(list, gone []string) []string {
		return slices.DeleteFunc(list, func(s string) bool {
			if slices.Contains(gone, s) {
				n++
				return true
			}
			return false
		})
	}
	for i := range a.Pins {
		if version != "" && a.Pins[i].Version != version {
			continue
		}
		a.Pins[i].InstallIDs = drop(a.Pins[i].InstallIDs, installIDs)
		a.Pins[i].Labels = drop(a.Pins[i].Labels, labels)
	}
	a.Pins = slices.DeleteFunc(a.Pins, func(p feed.Pin) bool { return len(p.InstallIDs) == 0 && len(p.Labels) == 0 })
	return n
}

func sortedSet(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

// validate checks the file as read, so that a hand edit that went wrong
// stops the signing instead of dropping a rollout.
func (ro *Rollouts) validate() error {
	for app, a := range ro.Apps {
		if err := checkApp(app); err != nil {
			return err
		}
		if a == nil {
			return fmt.Errorf("app %s: null", app)
		}
		for v, r := range a.Releases {
			nv, err := NormalVersion(v)
			if err != nil {
				return fmt.Errorf("app %s: %w", app, err)
			}
			if nv != v {
				return fmt.Errorf("app %s: version %q is written %q here", app, v, nv)
			}
			if r == nil {
				return fmt.Errorf("app %s: release %s: null", app, v)
			}
			if err := checkPlan(r.Percent, r.Phases); err != nil {
				return fmt.Errorf("app %s: release %s: %w", app, v, err)
			}
			if err := checkPlan(r.PausedPercent, nil); err != nil {
				return fmt.Errorf("app %s: release %s: paused_percent: %w", app, v, err)
			}
		}
		for _, p := range a.Pins {
			if _, err := NormalVersion(p.Version); err != nil {
				return fmt.Errorf("app %s: pin: %w", app, err)
			}
		}
	}
	return nil
}

// ReadRollouts reads dir's rollouts file; a folder without one has no
// rollouts. Errors wrap ErrRolloutsFile.
func ReadRollouts(dir string) (*Rollouts, error) {
	ro := &Rollouts{}
	f, err := os.Open(filepath.Join(dir, RolloutsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return ro, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRolloutsFile, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxRolloutsFile+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRolloutsFile, err)
	}
	if len(data) > maxRolloutsFile {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrRolloutsFile, f.Name(), maxRolloutsFile)
	}
	// Strict: a misspelt field in a hand edit must not be ignored.
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(ro); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrRolloutsFile, f.Name(), err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: %s: trailing data after the document", ErrRolloutsFile, f.Name())
	}
	if err := ro.validate(); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrRolloutsFile, f.Name(), err)
	}
	return ro, nil
}

// lockWait bounds how long EditRollouts waits for another editor (a
// command, or a server halting a rollout).
const lockWait = 10 * time.Second

// EditRollouts changes dir's rollouts file under a lock (the file
// .rollouts.json.lock beside it), so that commands and a server halting
// a rollout never lose each other's changes: it reads the file, calls edit
// and writes the result atomically (a reader sees the old file or the new
// one). Nothing is written when edit fails or changes nothing. It reports
// whether the file changed.
func EditRollouts(dir string, edit func(*Rollouts) error) (bool, error) {
	lk, err := lockRollouts(dir)
	if err != nil {
		return false, err
	}
	defer lk.Unlock()
	ro, err := ReadRollouts(dir)
	if err != nil {
		return false, err
	}
	before, err := json.Marshal(ro)
	if err != nil {
		return false, err
	}
	if err := edit(ro); err != nil {
		return false, err
	}
	if err := ro.validate(); err != nil {
		return false, fmt.Errorf("%w: %v", ErrBadRollout, err)
	}
	after, err := json.MarshalIndent(ro, "", "  ")
	if err != nil {
		return false, err
	}
	if compact, _ := json.Marshal(ro); bytes.Equal(before, compact) {
		return false, nil
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, RolloutsFile), append(after, '\n'), 0o644); err != nil {
		return false, err
	}
	return true, nil
}

func lockRollouts(dir string) (*lock.Lock, error) {
	path := filepath.Join(dir, "."+RolloutsFile+".lock")
	deadline := time.Now().Add(lockWait)
	for {
		lk, err := lock.TryLock(path)
		if err == nil || !errors.Is(err, lock.ErrLocked) || time.Now().After(deadline) {
			return lk, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// apply puts the rollouts, withdrawn releases and pins into the payloads
// built from the folder: a withdrawn release leaves Releases for
// Withdrawn (listed even when its files are gone, so that machines still
// running it learn of it).
func (ro *Rollouts) apply(apps map[string]*feed.Payload) {
	for name, p := range apps {
		a := ro.Apps[name]
		if a == nil {
			continue
		}
		p.Pins = nil
		for _, pin := range a.Pins {
			p.Pins = append(p.Pins, feed.Pin{Version: pin.Version, InstallIDs: slices.Clone(pin.InstallIDs), Labels: slices.Clone(pin.Labels)})
		}
		var kept []feed.Release
		for _, r := range p.Releases {
			st := a.Releases[r.Version]
			if st != nil && st.Withdrawn() {
				continue
			}
			if st != nil {
				r.Rollout = st.signed()
			}
			kept = append(kept, r)
		}
		p.Releases = kept
		p.Withdrawn = nil
		for v, st := range a.Releases {
			if st.Withdrawn() {
				p.Withdrawn = append(p.Withdrawn, v)
			}
		}
		slices.SortFunc(p.Withdrawn, func(x, y string) int { return semver.MustParse(y).Compare(semver.MustParse(x)) })
	}
}

// RolloutStatus is how one release's rollout stands, for pkgserver
// rollout status and /api/rollouts.
type RolloutStatus struct {
	Version string `json:"version"`
	// Percent is the fraction offered now; Phase is the phase in force
	// (1 for the first) of Phases, and Next the one to come.
	Percent float64     `json:"percent"`
	Phase   int         `json:"phase,omitempty"`
	Phases  int         `json:"phases,omitempty"`
	Next    *feed.Phase `json:"next,omitempty"`
	Since   time.Time   `json:"since"`
	Paused  bool        `json:"paused"`
	// PausedAt, HaltedAt and Reason: see RolloutState.
	PausedAt    time.Time `json:"paused_at,omitzero"`
	HaltedAt    time.Time `json:"halted_at,omitzero"`
	Reason      string    `json:"reason,omitempty"`
	Withdrawn   bool      `json:"withdrawn"`
	WithdrawnAt time.Time `json:"withdrawn_at,omitzero"`
	// Machines and Failures are the machines that reported trying the
	// release and those of them that reported a failure or a rollback,
	// from the deployment log; nil without one.
	Machines *int `json:"machines,omitempty"`
	Failures *int `json:"failures,omitempty"`
}

// AppStatus is an app's rollouts, newest version first, and its pins.
type AppStatus struct {
	App      string          `json:"app"`
	Rollouts []RolloutStatus `json:"rollouts"`
	Pins     []feed.Pin      `json:"pins"`
}

// Status says how app's rollouts stand at now.
func (ro *Rollouts) Status(app string, now time.Time) AppStatus {
	out := AppStatus{App: app, Rollouts: []RolloutStatus{}, Pins: []feed.Pin{}}
	a := ro.Apps[app]
	if a == nil {
		return out
	}
	out.Pins = append(out.Pins, a.Pins...)
	for v, r := range a.Releases {
		st := RolloutStatus{Version: v, Since: r.Since, Paused: r.Paused, PausedAt: r.PausedAt, HaltedAt: r.HaltedAt,
			Reason: r.Reason, Withdrawn: r.Withdrawn(), WithdrawnAt: r.WithdrawnAt, Phases: len(r.Phases)}
		st.Percent, st.Phase = r.Current(now)
		if !r.Paused && !r.Withdrawn() && st.Phase < len(r.Phases) {
			next := r.Phases[st.Phase]
			st.Next = &next
		}
		out.Rollouts = append(out.Rollouts, st)
	}
	slices.SortFunc(out.Rollouts, func(x, y RolloutStatus) int {
		return semver.MustParse(y.Version).Compare(semver.MustParse(x.Version))
	})
	return out
}

// AppNames lists the apps the rollouts file names, sorted.
func (ro *Rollouts) AppNames() []string {
	var names []string
	for name := range ro.Apps {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Halt pauses the rollout of app at version at 0% if judge, given when
// the rollout was last set or resumed, says so, and records why in the
// rollouts file; then it signs the app's feed again at once. A release
// with no rollout, or one paused or withdrawn already, is left alone (and
// judge is not called). It reports whether it halted the rollout.
func (s *Server) Halt(app, version string, judge func(since time.Time) (halt bool, reason string)) (bool, error) {
	v, err := NormalVersion(version)
	if err != nil {
		return false, err
	}
	now := s.now()
	halted := false
	_, err = EditRollouts(s.dir, func(ro *Rollouts) error {
		r := ro.release(app, v)
		if r == nil || r.Paused || r.Withdrawn() {
			return nil
		}
		if ok, why := judge(r.Since); ok {
			halted = ro.Halt(app, v, why, now)
		}
		return nil
	})
	if err != nil || !halted {
		return false, err
	}
	s.log.Warn("feed: rollout halted", "app", app, "version", v, "dir", s.dir)
	if _, err := s.feed(app); err != nil {
		return true, err
	}
	return true, nil
}
