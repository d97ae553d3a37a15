package update

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/molt-go/update/step"
)

// Step names a step of an update (see package step, the one vocabulary
// that reports and the package server share).
type Step = step.Name

// The steps of an update, in order.
const (
	StepFind     = step.Find     // list releases and choose one
	StepDownload = step.Download // stream the asset to a staged file
	StepVerify   = step.Verify   // compare digests and signatures
	StepExtract  = step.Extract  // take the executable out of an archive
	StepProbe    = step.Probe    // run the staged binary and ask its version
	StepApply    = step.Apply    // swap the new binary in, keeping a backup
	StepRestart  = step.Restart  // start the new version
	StepConfirm  = step.Confirm  // the new version says it is healthy
	StepRollback = step.Rollback // the previous version is put back
)

// Event reports one step of one update. Events go to Options.OnEvent and to
// Options.Logger.
type Event struct {
	Step       Step
	Start, End time.Time
	App        string
	Machine    string
	// Labels are Options.Labels, and InstallID is this installation's
	// random ID (Updater.InstallID; empty until the first look has made
	// it): what pins name, so that a report says whether a pin holds
	// this machine.
	Labels    []string
	InstallID string
	From, To  string // versions; To is empty until a release is chosen
	Bytes     int64  // bytes moved by the step (download, extract)
	// Patch is set on a download that fetched a binary patch instead of
	// the whole release, and Saved is how many bytes that saved.
	Patch bool
	Saved int64
	Err   error // nil if the step succeeded
}

// Duration is how long the step took.
func (e Event) Duration() time.Duration { return e.End.Sub(e.Start) }

// Progress reports a download as it goes.
type Progress struct {
	Asset   string
	Bytes   int64         // downloaded so far
	Total   int64         // expected size; 0 if unknown
	Elapsed time.Duration // since the download began, resumes and waits included
}

// Speed is the download's average speed so far in bytes per second, over
// the whole of Elapsed: a figure a display can show as it is, where a rate
// taken over the last chunk alone swings by orders of magnitude. It is 0
// until time has passed.
func (p Progress) Speed() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Bytes) / p.Elapsed.Seconds()
}

// stepRun measures one step and emits its event.
type stepRun struct {
	u     *Updater
	ev    Event
	bytes int64
}

func (u *Updater) begin(s Step, to string) *stepRun {
	return &stepRun{u: u, ev: Event{Step: s, Start: u.now(), App: u.o.App, Machine: u.machine,
		Labels: slices.Clone(u.o.Labels), From: u.o.Version, To: to}}
}

// end finishes the step with err (nil for success) and returns err wrapped
// in an *Error naming the step.
func (s *stepRun) end(err error) error {
	s.ev.End = s.u.now()
	s.ev.Bytes = s.bytes
	// At the end, not the beginning: the first find makes the install ID.
	s.ev.InstallID = s.u.InstallID()
	s.ev.Err = err
	s.u.emit(s.ev)
	if err == nil {
		return nil
	}
	return &Error{Step: s.ev.Step, From: s.ev.From, To: s.ev.To, Err: err}
}

func (u *Updater) emit(ev Event) {
	level := slog.LevelInfo
	attrs := []slog.Attr{
		slog.String("step", string(ev.Step)),
		slog.String("app", ev.App),
		slog.String("from", ev.From),
		slog.Duration("took", ev.Duration()),
	}
	if ev.To != "" {
		attrs = append(attrs, slog.String("to", ev.To))
	}
	if ev.Bytes > 0 {
		attrs = append(attrs, slog.Int64("bytes", ev.Bytes))
	}
	if ev.Patch {
		attrs = append(attrs, slog.Bool("patch", true), slog.Int64("saved", ev.Saved))
	}
	if ev.Err != nil {
		level = slog.LevelWarn
		attrs = append(attrs, slog.String("err", ev.Err.Error()))
	}
	u.log.LogAttrs(context.Background(), level, "update", attrs...)
	if u.o.OnEvent != nil {
		u.o.OnEvent(ev)
	}
}
