package collect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/molt-go/update/step"

	"github.com/molt-go/update/agent/deploylog"

	"github.com/molt-go/update/report"
)

// Event is one step of one update as a program reports it: see
// report.Event, which programs send with report.Reporter.
type Event = report.Event

// Collector limits. The endpoint takes writes from anyone who can reach it,
// so each limit bounds what one request, or a flood of them, can cost.
const (
	// maxEventBody caps a request body: an event is a few hundred bytes,
	// and its longest part, an error message, is cut at maxErrorText.
	maxEventBody = 64 << 10
	// maxField caps app, machine and version names: real ones are short,
	// and the log page shows them in table cells.
	maxField = 256
	// maxErrorText is where a longer error message is cut, not refused: the
	// message is the most useful part of a failed step.
	maxErrorText = 4096
	// maxAge refuses events older than a month: a reporter sends within
	// seconds, so an old event is a replay or a clock far off.
	maxAge = 30 * 24 * time.Hour
	// maxSkew allows a reporting machine's clock to run a day fast.
	maxSkew = 24 * time.Hour
	// maxStepTime refuses steps longer than a day: no download, probe or
	// restart takes that long.
	maxStepTime = 24 * time.Hour
	// maxLabels and maxLabel bound a machine's labels: a few groups
	// ("canary", "eu-west"), each a short word that pins name.
	maxLabels = 8
	maxLabel  = 64
	// maxRuns caps both the open updates and the recently ended ones that
	// the collector remembers in memory; past it the oldest is forgotten
	// (an open one is closed as abandoned), so junk cannot grow memory.
	maxRuns = 1024
)

// Collector is an http.Handler that takes the events that programs POST
// with report.Reporter (one JSON Event per request, Content-Type
// application/json) and keeps them as deployments in Store, where Handler
// shows them.
//
// The events of one update run become one Deployment: its project is the
// app, and a run is known by app, machine and the version it updates from.
// A find that chose a release opens a deployment (a find that found nothing
// newer is not a deployment and is not stored; the Fleet, if set, still
// counts it), with the machine's labels as that event gives them. The steps that follow are
// added to it. The first failed step closes it as failed with that step's
// error; a restart closes it as done, because a successful exec never comes
// back to say more. What the new process says later still belongs to it: a
// confirm (from the old version to the new) is added to the deployment it
// confirms, and a rollback (from the new version back to the old) is added
// to the deployment it undoes and marks it failed. A find for a run that is
// still open means the previous run died without a word; it is closed as
// failed ("abandoned") and a new one opens. A step without an open run (the
// collector restarted mid-run) opens a deployment of its own.
//
// Collector answers 204 when it kept (or knowingly ignored) an event, 400
// for an invalid one, 413 for a body over 64 KiB, 415 for a body that is
// not JSON. The endpoint is write-only: it answers no question and gives
// out no IDs; the log is read through Handler. It has no authentication, so
// anyone who can reach it can add deployments to the log: serve it where
// only your machines reach, or put it behind a proxy that authenticates.
// What protects the server is bounded work per request: the body cap,
// capped field lengths, times within a month back and a day ahead, a fixed
// set of step names, and a fixed number of runs remembered in memory.
//
// The zero value with Store set is ready.
type Collector struct {
	// Store keeps the deployments. Required.
	Store deploylog.Store
	// Logger receives a line per event refused and per store failure. If
	// nil, slog.Default().
	Logger *slog.Logger
	// Fleet, if not nil, counts every valid event, those that open no
	// deployment too: how each machine stands (see Fleet).
	Fleet *Fleet

	now func() time.Time // test seam; nil means time.Now

	mu    sync.Mutex                       // one event at a time: grouping reads what the last one wrote
	open  map[runKey]*deploylog.Deployment // running deployments by app, machine, from (to empty)
	ended map[runKey]*deploylog.Deployment // recently ended ones by app, machine, from, to
	order []runKey                         // ended keys, oldest first, to forget the oldest
}

var _ http.Handler = (*Collector)(nil)

// runKey names an update run.
type runKey struct{ app, machine, from, to string }

func (c *Collector) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.Default()
}

func (c *Collector) clock() time.Time {
	if c.now != nil {
		return c.now()
	}
	return time.Now()
}

// ServeHTTP takes one event from a POST body.
func (c *Collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST an event", http.StatusMethodNotAllowed)
		return
	}
	// Requiring JSON also keeps browsers out: a cross-site page cannot send
	// it without a preflight that this endpoint never answers.
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		http.Error(w, "the body must be application/json", http.StatusUnsupportedMediaType)
		return
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxEventBody))
	var ev Event
	err := dec.Decode(&ev)
	if err == nil {
		if _, extra := dec.Token(); !errors.Is(extra, io.EOF) {
			err = errors.New("one event per request")
		}
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "event too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "bad event: "+err.Error(), http.StatusBadRequest)
		return
	}
	// The event is kept whole even if the reporter hangs up halfway: the
	// grouping in memory must match what the store holds.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 30*time.Second)
	defer cancel()
	err = c.Collect(ctx, ev)
	switch {
	case errors.Is(err, deploylog.ErrInvalidEvent):
		c.logger().Info("deploy: event refused", "from", r.RemoteAddr, "err", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
	case err != nil:
		c.logger().Warn("deploy: event not stored", "err", err)
		http.Error(w, "cannot store the event", http.StatusInternalServerError)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// Collect validates ev and records it in the deployment of its update run,
// as the Collector's doc says. It fails with an error wrapping
// ErrInvalidEvent for an event it refuses. A program that keeps its own log
// may call it directly, without HTTP.
func (c *Collector) Collect(ctx context.Context, ev Event) error {
	if err := c.validate(&ev); err != nil {
		return err
	}
	if c.Fleet != nil {
		c.Fleet.Add(ev)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.open == nil {
		c.open, c.ended = map[runKey]*deploylog.Deployment{}, map[runKey]*deploylog.Deployment{}
	}
	switch ev.Step {
	case step.Find:
		if ev.To == "" && ev.Error == "" {
			return nil // up to date: nothing was deployed
		}
		return c.begin(ctx, ev)
	case step.Confirm:
		if ev.To == "" {
			return nil // nothing was pending: no deployment to confirm
		}
		return c.after(ctx, ev, runKey{ev.App, ev.Machine, ev.From, ev.To})
	case step.Rollback:
		// A rollback goes from the new version back to the old one.
		return c.after(ctx, ev, runKey{ev.App, ev.Machine, ev.To, ev.From})
	default:
		return c.during(ctx, ev)
	}
}

// validate refuses what no updater sends, and cuts a long error message.
func (c *Collector) validate(ev *Event) error {
	var errs []error
	if !step.IsUpdate(ev.Step) {
		errs = append(errs, fmt.Errorf("unknown step %.40q", ev.Step))
	}
	for _, f := range []struct {
		name, value string
		required    bool
	}{
		{"app", ev.App, true},
		{"machine", ev.Machine, true},
		{"from", ev.From, true},
		{"to", ev.To, ev.Step != step.Find && ev.Step != step.Confirm},
	} {
		switch {
		case f.value == "" && f.required:
			errs = append(errs, fmt.Errorf("%s is empty", f.name))
		case len(f.value) > maxField:
			errs = append(errs, fmt.Errorf("%s is longer than %d bytes", f.name, maxField))
		case !printable(f.value):
			errs = append(errs, fmt.Errorf("%s is not printable UTF-8", f.name))
		}
	}
	if len(ev.InstallID) > maxField || !printable(ev.InstallID) {
		errs = append(errs, fmt.Errorf("install_id is longer than %d bytes or not printable UTF-8", maxField))
	}
	errs = append(errs, checkLabels(ev.Labels))
	now := c.clock()
	switch {
	case ev.Start.IsZero() || ev.End.IsZero():
		errs = append(errs, errors.New("start or end is missing"))
	case ev.End.Before(ev.Start):
		errs = append(errs, errors.New("end is before start"))
	case ev.End.Sub(ev.Start) > maxStepTime:
		errs = append(errs, fmt.Errorf("the step took more than %v", maxStepTime))
	case ev.Start.Before(now.Add(-maxAge)):
		errs = append(errs, fmt.Errorf("start is more than %v ago", maxAge))
	case ev.End.After(now.Add(maxSkew)):
		errs = append(errs, fmt.Errorf("end is more than %v ahead", maxSkew))
	}
	if ev.Bytes < 0 {
		errs = append(errs, errors.New("bytes is negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", deploylog.ErrInvalidEvent, err)
	}
	ev.Error = cut(strings.ToValidUTF8(ev.Error, "\uFFFD"), maxErrorText)
	return nil
}

// cut shortens s to at most n bytes and a mark, on a rune boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// checkLabels refuses more labels than a machine needs, or long ones:
// the fleet keeps the labels of every machine in memory and shows them in
// table cells.
func checkLabels(labels []string) error {
	if len(labels) > maxLabels {
		return fmt.Errorf("more than %d labels", maxLabels)
	}
	for _, l := range labels {
		if l == "" || len(l) > maxLabel || !printable(l) || strings.TrimSpace(l) != l {
			return fmt.Errorf("label %.40q is empty, longer than %d bytes, not printable or has spaces around it", l, maxLabel)
		}
	}
	return nil
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// begin opens a deployment for a find that chose a release (or failed).
func (c *Collector) begin(ctx context.Context, ev Event) error {
	key := runKey{ev.App, ev.Machine, ev.From, ""}
	if old := c.open[key]; old != nil {
		if err := c.finish(ctx, key, old, deploylog.StatusFailed, "abandoned: the next update began before this one ended", ev.Start); err != nil {
			return err
		}
	}
	return c.openRun(ctx, key, ev)
}

// during adds a step to the open run of ev, opening one if there is none
// or if the open one went to another version (its find was lost).
func (c *Collector) during(ctx context.Context, ev Event) error {
	key := runKey{ev.App, ev.Machine, ev.From, ""}
	d := c.open[key]
	if d != nil && d.To != "" && d.To != ev.To {
		if err := c.finish(ctx, key, d, deploylog.StatusFailed, "abandoned: the next update went to "+ev.To, ev.Start); err != nil {
			return err
		}
		d = nil
	}
	if d == nil {
		return c.openRun(ctx, key, ev)
	}
	return c.step(ctx, key, d, ev)
}

// openRun creates the deployment of a new run, starting with ev.
func (c *Collector) openRun(ctx context.Context, key runKey, ev Event) error {
	if len(c.open) >= maxRuns {
		if err := c.forgetOldest(ctx); err != nil {
			return err
		}
	}
	d := &deploylog.Deployment{Project: ev.App, Machine: ev.Machine, Labels: ev.Labels, From: ev.From, To: ev.To, Status: deploylog.StatusRunning, Start: ev.Start}
	if err := c.Store.Create(ctx, d); err != nil {
		return err
	}
	c.open[key] = d
	return c.step(ctx, key, d, ev)
}

// forgetOldest closes the open run that started first, as abandoned.
func (c *Collector) forgetOldest(ctx context.Context) error {
	var oldest runKey
	var od *deploylog.Deployment
	for k, d := range c.open {
		if od == nil || d.Start.Before(od.Start) {
			oldest, od = k, d
		}
	}
	return c.finish(ctx, oldest, od, deploylog.StatusFailed, "abandoned: no end was reported", od.Start)
}

// step records ev in the open deployment d and closes d if ev ends it.
func (c *Collector) step(ctx context.Context, key runKey, d *deploylog.Deployment, ev Event) error {
	if err := c.addStep(ctx, d, ev); err != nil {
		return err
	}
	if d.To == "" && ev.To != "" {
		d.To = ev.To
		if err := c.Store.Update(ctx, d); err != nil {
			return err
		}
	}
	switch {
	case ev.Error != "":
		return c.finish(ctx, key, d, deploylog.StatusFailed, ev.Error, ev.End)
	case ev.Step == step.Restart:
		return c.finish(ctx, key, d, deploylog.StatusDone, "", ev.End)
	}
	return nil
}

func (c *Collector) addStep(ctx context.Context, d *deploylog.Deployment, ev Event) error {
	return c.Store.AddStep(ctx, &deploylog.StepLog{
		DeploymentID: d.ID, Step: deploylog.Step(ev.Step), Project: ev.App, Machine: ev.Machine, From: ev.From, To: ev.To,
		Start: ev.Start, End: ev.End, Error: ev.Error, Bytes: ev.Bytes,
	})
}

// finish ends the open deployment d and remembers it for a confirm or a
// rollback to come.
func (c *Collector) finish(ctx context.Context, key runKey, d *deploylog.Deployment, status deploylog.Status, why string, end time.Time) error {
	delete(c.open, key)
	d.Status, d.Error, d.End = status, why, end
	if err := c.Store.Update(ctx, d); err != nil {
		return err
	}
	c.remember(d)
	return nil
}

func (c *Collector) remember(d *deploylog.Deployment) {
	key := runKey{d.Project, d.Machine, d.From, d.To}
	if _, ok := c.ended[key]; !ok {
		if len(c.order) >= maxRuns {
			delete(c.ended, c.order[0])
			c.order = c.order[1:]
		}
		c.order = append(c.order, key)
	}
	c.ended[key] = d
}

// after adds a confirm or a rollback to the deployment of run, the update
// from run.from to run.to: open still if its end was lost, or just ended.
func (c *Collector) after(ctx context.Context, ev Event, run runKey) error {
	openKey := runKey{run.app, run.machine, run.from, ""}
	if d := c.open[openKey]; d != nil && d.To == run.to {
		if err := c.addStep(ctx, d, ev); err != nil {
			return err
		}
		status, why := afterStatus(ev, deploylog.StatusDone, "")
		return c.finish(ctx, openKey, d, status, why, ev.End)
	}
	d := c.ended[run]
	if d == nil {
		// The collector has forgotten it, or never saw it: keep the event
		// as a deployment of its own rather than lose it.
		d = &deploylog.Deployment{Project: ev.App, Machine: ev.Machine, Labels: ev.Labels, From: run.from, To: run.to, Start: ev.Start}
		d.Status, d.Error = afterStatus(ev, deploylog.StatusDone, "")
		d.End = ev.End
		if err := c.Store.Create(ctx, d); err != nil {
			return err
		}
		c.remember(d)
		return c.addStep(ctx, d, ev)
	}
	if err := c.addStep(ctx, d, ev); err != nil {
		return err
	}
	status, why := afterStatus(ev, d.Status, d.Error)
	if status == d.Status && why == d.Error {
		return nil
	}
	d.Status, d.Error, d.End = status, why, ev.End
	return c.Store.Update(ctx, d)
}

// afterStatus is how a deployment stands after ev, a confirm or a
// rollback, given how it stood. A failed confirm changes nothing: the
// version is still pending and may confirm at its next start.
func afterStatus(ev Event, status deploylog.Status, why string) (deploylog.Status, string) {
	switch {
	case ev.Step == step.Rollback && ev.Error != "":
		return deploylog.StatusFailed, "rollback failed: " + ev.Error
	case ev.Step == step.Rollback:
		return deploylog.StatusFailed, "rolled back to " + ev.To
	}
	return status, why
}
