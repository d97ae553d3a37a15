package pages

import (
	"cmp"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/molt-go/update/server"
	"github.com/molt-go/update/server/collect"
	"github.com/molt-go/update/source"
	"github.com/molt-go/update/source/feed"
)

// fleetRows is how many machines the fleet page lists unless ?limit=
// says otherwise: a page of 10,000 rows is too long to read and slow to
// render, and the counts above the table cover every machine.
const fleetRows = 200

// FleetOptions is what the fleet view is made of. The zero value shows an
// empty fleet.
type FleetOptions struct {
	// Machines says how each machine stands (the Collector's Fleet). If
	// nil, no machines.
	Machines *collect.Fleet
	// Tally counts the machines that tried each release and failed it. If
	// nil, the rollouts show no counts.
	Tally *collect.Tally
	// Rollouts reads the rollouts file, such as server.ReadRollouts of the
	// releases folder, at each request: rollouts, halts and pins. If nil,
	// none.
	Rollouts func() (*server.Rollouts, error)

	now func() time.Time // test seam; nil means time.Now
}

// Fleet serves the fleet view: per app, the machines on each version,
// each rollout's progress, its halts and why, the pins, and every machine
// with its version, labels and last report.
//
//	GET /fleet                the apps, with their machines per version and rollouts
//	GET /fleet/{app}          one app: versions, rollouts, halts, pins, machines
//	GET /api/fleet            the apps as JSON: [{"app":..,"total":..,"versions":[..],..},..]
//	GET /api/fleet/{app}      one app as JSON, with every machine
//
// The machine list takes ?version=V and ?label=L to show only the
// machines on V or with label L, and ?limit=N: the page shows 200 rows
// unless told, machines with a failed last report first; the JSON gives
// all. Counts always cover the whole fleet.
func Fleet(o FleetOptions) http.Handler {
	f := &fleetPages{o: o, mux: http.NewServeMux()}
	f.mux.HandleFunc("GET /fleet", f.index)
	f.mux.HandleFunc("GET /fleet/{app}", f.app)
	f.mux.HandleFunc("GET /api/fleet", f.indexJSON)
	f.mux.HandleFunc("GET /api/fleet/{app}", f.appJSON)
	return f
}

type fleetPages struct {
	o   FleetOptions
	mux *http.ServeMux
}

func (f *fleetPages) ServeHTTP(w http.ResponseWriter, r *http.Request) { f.mux.ServeHTTP(w, r) }

// AppSummary is how an app's fleet stands.
type AppSummary struct {
	App string `json:"app"`
	// Total is the number of machines that reported.
	Total int `json:"total"`
	// Versions are the versions machines run, newest first.
	Versions []VersionCount `json:"versions"`
	// Rollouts are the app's staged and withdrawn releases, newest first.
	Rollouts []RolloutView `json:"rollouts"`
	// Halts are the rollouts the server paused by itself, and why.
	Halts []Halt     `json:"halts"`
	Pins  []feed.Pin `json:"pins"`
}

// VersionCount is how many machines run a version.
type VersionCount struct {
	Version  string  `json:"version"`
	Machines int     `json:"machines"`
	Percent  float64 `json:"percent"` // of the app's machines
}

// RolloutView is a rollout's status (server.RolloutStatus: percent,
// phase, next phase, paused, withdrawn; tried and failed as machines and
// failures) and the machines that run the release now.
type RolloutView struct {
	server.RolloutStatus
	On int `json:"on"`
}

// Halt is a rollout the server paused because its release failed.
type Halt struct {
	Version string    `json:"version"`
	At      time.Time `json:"at"`
	Reason  string    `json:"reason"`
}

// AppView is an app's fleet with its machines: those that match the
// request's filters, Shown of Matched, listed.
type AppView struct {
	AppSummary
	Matched  int           `json:"matched"`
	Shown    int           `json:"shown"`
	Machines []MachineView `json:"machines"`
	// Version and Label are the filters asked for, for the page.
	Version string `json:"-"`
	Label   string `json:"-"`
}

// MachineView is a machine with the version a pin holds it at, if one
// does.
type MachineView struct {
	collect.Machine
	Pinned string `json:"pinned,omitempty"`
}

// pinnedAt is the version pins hold a machine at, or "": the client's rule
// (source.PinnedAt) on what the machine reported.
func pinnedAt(pins []feed.Pin, m collect.Machine) string {
	for _, p := range pins {
		if source.Pin(p).Holds(m.InstallID, m.Labels) {
			return p.Version
		}
	}
	return ""
}

// filter is what a request asks of the machine list.
type filter struct {
	version, label string
	limit          int // 0 for all, -1 for none (a summary)
}

// view is app's fleet from its machines, the rollouts file and the tally,
// at now. It is pure.
func view(app string, ms []collect.Machine, ro *server.Rollouts, tally *collect.Tally, now time.Time, f filter) AppView {
	st := ro.Status(app, now)
	v := AppView{AppSummary: AppSummary{App: app, Total: len(ms), Versions: []VersionCount{}, Rollouts: []RolloutView{}, Halts: []Halt{}, Pins: st.Pins},
		Machines: []MachineView{}, Version: f.version, Label: f.label}
	on := map[string]int{}
	for _, m := range ms {
		on[m.Version]++
		if f.limit >= 0 && (f.version == "" || m.Version == f.version) && (f.label == "" || slices.Contains(m.Labels, f.label)) {
			v.Machines = append(v.Machines, MachineView{Machine: m, Pinned: pinnedAt(st.Pins, m)})
		}
	}
	for ver, n := range on {
		v.Versions = append(v.Versions, VersionCount{Version: ver, Machines: n, Percent: 100 * float64(n) / float64(len(ms))})
	}
	slices.SortFunc(v.Versions, func(x, y VersionCount) int { return newerFirst(x.Version, y.Version) })
	for _, r := range st.Rollouts {
		if tally != nil {
			c := tally.Counts(app, r.Version, time.Time{})
			r.Machines, r.Failures = &c.Tried, &c.Failed
		}
		v.Rollouts = append(v.Rollouts, RolloutView{RolloutStatus: r, On: on[r.Version]})
		if !r.HaltedAt.IsZero() {
			v.Halts = append(v.Halts, Halt{Version: r.Version, At: r.HaltedAt, Reason: r.Reason})
		}
	}
	v.Machines = failuresFirst(v.Machines)
	v.Matched = len(v.Machines)
	if f.limit > 0 && len(v.Machines) > f.limit {
		v.Machines = v.Machines[:f.limit]
	}
	v.Shown = len(v.Machines)
	return v
}

// failuresFirst puts the machines whose last report failed first, the
// latest on top, and keeps the others in their order: what an operator
// looks for in a long list.
func failuresFirst(ms []MachineView) []MachineView {
	var failed, ok []MachineView
	for _, m := range ms {
		if m.Last.Error != "" {
			failed = append(failed, m)
		} else {
			ok = append(ok, m)
		}
	}
	slices.SortStableFunc(failed, func(x, y MachineView) int { return y.Last.At.Compare(x.Last.At) })
	return append(append(ms[:0], failed...), ok...)
}

// newerFirst orders versions newest first, those that are not semantic
// versions last, by name.
func newerFirst(x, y string) int {
	xv, xerr := semver.NewVersion(x)
	yv, yerr := semver.NewVersion(y)
	switch {
	case xerr == nil && yerr == nil:
		return yv.Compare(xv)
	case xerr == nil:
		return -1
	case yerr == nil:
		return 1
	}
	return cmp.Compare(x, y)
}

func (f *fleetPages) clock() time.Time {
	if f.o.now != nil {
		return f.o.now()
	}
	return time.Now()
}

func (f *fleetPages) rollouts() (*server.Rollouts, error) {
	if f.o.Rollouts == nil {
		return &server.Rollouts{}, nil
	}
	return f.o.Rollouts()
}

func (f *fleetPages) machines(app string) []collect.Machine {
	if f.o.Machines == nil {
		return nil
	}
	return f.o.Machines.Machines(app)
}

// apps lists the apps that have machines or rollouts, sorted.
func (f *fleetPages) apps(ro *server.Rollouts) []string {
	var names []string
	if f.o.Machines != nil {
		names = f.o.Machines.Apps()
	}
	names = append(names, ro.AppNames()...)
	slices.Sort(names)
	return slices.Compact(names)
}

func (f *fleetPages) summaries() ([]AppSummary, bool, error) {
	ro, err := f.rollouts()
	if err != nil {
		return nil, false, err
	}
	out := []AppSummary{}
	halted := false
	for _, app := range f.apps(ro) {
		v := view(app, f.machines(app), ro, f.o.Tally, f.clock(), filter{limit: -1})
		out = append(out, v.AppSummary)
		halted = halted || len(v.Halts) > 0
	}
	return out, halted, nil
}

// appView is the view of the request's app, with its filters and limit
// (def when ?limit= is not given: 0 for all).
func (f *fleetPages) appView(r *http.Request, def int) (AppView, error) {
	ro, err := f.rollouts()
	if err != nil {
		return AppView{}, err
	}
	q := r.URL.Query()
	fl := filter{version: q.Get("version"), label: q.Get("label"), limit: def}
	if n, err := strconv.Atoi(q.Get("limit")); err == nil && n > 0 {
		fl.limit = n
	}
	if fl.version != "" {
		if nv, err := server.NormalVersion(fl.version); err == nil {
			fl.version = nv
		}
	}
	app := r.PathValue("app")
	return view(app, f.machines(app), ro, f.o.Tally, f.clock(), fl), nil
}

func fleetError(w http.ResponseWriter, err error) {
	slog.Warn("fleet: page", "err", err)
	http.Error(w, "cannot read the rollouts", http.StatusInternalServerError)
}

func (f *fleetPages) index(w http.ResponseWriter, r *http.Request) {
	apps, halted, err := f.summaries()
	if err != nil {
		fleetError(w, err)
		return
	}
	render(w, "fleets.html", struct {
		Apps   []AppSummary
		Halted bool
	}{apps, halted})
}

func (f *fleetPages) indexJSON(w http.ResponseWriter, r *http.Request) {
	apps, _, err := f.summaries()
	if err != nil {
		fleetError(w, err)
		return
	}
	writeJSON(w, apps)
}

func (f *fleetPages) app(w http.ResponseWriter, r *http.Request) {
	v, err := f.appView(r, fleetRows)
	if err != nil {
		fleetError(w, err)
		return
	}
	if v.Total == 0 && len(v.Rollouts) == 0 && len(v.Pins) == 0 {
		http.Error(w, "no machines and no rollouts for "+v.App, http.StatusNotFound)
		return
	}
	render(w, "fleet.html", v)
}

func (f *fleetPages) appJSON(w http.ResponseWriter, r *http.Request) {
	v, err := f.appView(r, 0)
	if err != nil {
		fleetError(w, err)
		return
	}
	if v.Total == 0 && len(v.Rollouts) == 0 && len(v.Pins) == 0 {
		http.Error(w, "no machines and no rollouts for "+v.App, http.StatusNotFound)
		return
	}
	writeJSON(w, v)
}
