package collect

import (
	"cmp"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/molt-go/update/agent/deploylog"
	"github.com/molt-go/update/step"
)

// Fleet limits. Anyone who can reach the events endpoint can name new
// machines, so the fleet in memory is bounded like the runs are.
const (
	// maxMachines caps the machines remembered, over all apps: five times
	// the 10,000 a fleet view is built for. Past it the machines that
	// reported least recently are forgotten, a sixteenth at a time, until
	// they report again.
	maxMachines = 50_000
	// maxFleetError is where a machine's last error is cut in the fleet:
	// the view shows its start, and the deployment log keeps all of it.
	maxFleetError = 256
	// maxVersions caps the cache of versions as the fleet writes them;
	// past it a version is parsed each time.
	maxVersions = 1024
)

// Fleet knows, per app, every machine that reported and how it stands:
// the version it runs, its labels and install ID (what pins name), and
// its last report. It is safe for concurrent use; the zero value is
// ready. A Collector with a Fleet counts every valid event in it,
// including those that open no deployment (a find that found nothing
// newer), so a machine that is up to date is in the fleet although it is
// not in the deployment log. FleetOf rebuilds it from the log when the
// server starts: a machine that never deployed is then missing until it
// next reports.
//
// A machine's version is the one it last said it runs: the To of a
// restart (the old process starts the new version and never comes back
// to say more), of a confirm (the new version is healthy) and of a
// rollback that worked (the machine is back on the old version); the From
// of every other step, which the running process reports as its own
// version. The last report is the event that ended last by the machine's
// clock (for the same time, the one that came last), so a late event
// from before cannot undo a newer one. Versions are written as the
// rollouts file writes them, without a leading "v".
type Fleet struct {
	mu       sync.Mutex
	apps     map[string]map[string]*Machine // by app, then by machine name
	n        int
	versions map[string]string // norm of the versions seen, a few: parsing one costs more than the rest of Add
}

func (f *Fleet) norm(v string) string {
	if n, ok := f.versions[v]; ok {
		return n
	}
	n := norm(v)
	if f.versions == nil {
		f.versions = make(map[string]string)
	}
	if len(f.versions) < maxVersions {
		f.versions[v] = n
	}
	return n
}

// Machine is how one machine of an app stands.
type Machine struct {
	Name      string   `json:"machine"`
	Version   string   `json:"version"`
	InstallID string   `json:"install_id,omitempty"` // the latest non-empty one it reported
	Labels    []string `json:"labels,omitempty"`     // as its last report says
	Last      Report   `json:"last"`
}

// Report is a machine's last reported step.
type Report struct {
	Step  step.Name `json:"step"`
	At    time.Time `json:"at"` // when the step ended, by the machine's clock
	From  string    `json:"from"`
	To    string    `json:"to,omitempty"`
	Error string    `json:"error,omitempty"` // its start, if the step failed
}

// Running is the version a machine runs once it has reported ev, by the
// rule in Fleet's doc, as the event writes it. It is pure.
func Running(ev Event) string {
	switch {
	case ev.To == "":
	case ev.Step == step.Restart && ev.Error == "", ev.Step == step.Confirm,
		ev.Step == step.Rollback && ev.Error == "":
		// A failed confirm still runs the version it tried to confirm;
		// a failed rollback leaves the new version running.
		return ev.To
	}
	return ev.From
}

// Add counts one valid event (Collect validates them).
func (f *Fleet) Add(ev Event) {
	if !step.IsUpdate(ev.Step) || ev.App == "" || ev.Machine == "" {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.apps == nil {
		f.apps = make(map[string]map[string]*Machine)
	}
	app := f.apps[ev.App]
	if app == nil {
		app = make(map[string]*Machine)
		f.apps[ev.App] = app
	}
	m := app[ev.Machine]
	if m == nil {
		if f.n >= maxMachines {
			f.forgetOldest()
		}
		m = &Machine{Name: ev.Machine}
		app[ev.Machine] = m
		f.n++
	} else if ev.End.Before(m.Last.At) {
		if m.InstallID == "" {
			m.InstallID = ev.InstallID
		}
		return
	}
	m.Version = f.norm(Running(ev))
	m.Labels = slices.Clone(ev.Labels)
	if ev.InstallID != "" {
		m.InstallID = ev.InstallID
	}
	m.Last = Report{Step: ev.Step, At: ev.End, From: ev.From, To: ev.To, Error: cut(ev.Error, maxFleetError)}
}

// forgetOldest drops the sixteenth of the machines that reported least
// recently: sorting once per many new machines keeps a flood cheap.
func (f *Fleet) forgetOldest() {
	type ref struct {
		app, name string
		at        time.Time
	}
	all := make([]ref, 0, f.n)
	for app, ms := range f.apps {
		for name, m := range ms {
			all = append(all, ref{app, name, m.Last.At})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].at.Before(all[j].at) })
	for _, r := range all[:len(all)/16+1] {
		delete(f.apps[r.app], r.name)
		if len(f.apps[r.app]) == 0 {
			delete(f.apps, r.app)
		}
		f.n--
	}
}

// Apps lists the apps with machines, sorted.
func (f *Fleet) Apps() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	names := make([]string, 0, len(f.apps))
	for name := range f.apps {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Machines returns copies of app's machines, sorted by name.
func (f *Fleet) Machines(app string) []Machine {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Machine, 0, len(f.apps[app]))
	for _, m := range f.apps[app] {
		c := *m
		c.Labels = slices.Clone(m.Labels)
		out = append(out, c)
	}
	slices.SortFunc(out, func(x, y Machine) int { return cmp.Compare(x.Name, y.Name) })
	return out
}

// FleetOf rebuilds a Fleet from the steps of the deployments in a log,
// in the order they were stored, each with its deployment's labels.
func FleetOf(ds []deploylog.Deployment) *Fleet {
	type stored struct {
		ev Event
		id int64
	}
	var all []stored
	for _, d := range ds {
		for _, s := range d.Steps {
			end := s.End
			if end.IsZero() {
				end = s.Start
			}
			all = append(all, stored{Event{App: s.Project, Machine: s.Machine, Labels: d.Labels, Step: s.Step,
				Start: s.Start, End: end, From: s.From, To: s.To, Error: s.Error}, s.ID})
		}
	}
	slices.SortStableFunc(all, func(x, y stored) int { return cmp.Compare(x.id, y.id) })
	f := &Fleet{}
	for _, s := range all {
		f.Add(s.ev)
	}
	return f
}
