package update

import (
	"context"
	"log/slog"
	"time"
)

// Step names a step of an update.
type Step string

// The steps of an update, in order.
const (
	StepFind     Step = "find"     // list releases and choose one
	StepDownload Step = "download" // stream the asset to a staged file
	StepVerify   Step = "verify"   // compare digests and signatures
	StepExtract  Step = "extract"  // take the executable out of an archive
	StepProbe    Step = "probe"    // run the staged binary and ask its version
	StepApply    Step = "apply"    // swap the new binary in, keeping a backup
	StepRestart  Step = "restart"  // start the new version
	StepConfirm  Step = "confirm"  // the new version says it is healthy
	StepRollback Step = "rollback" // the previous version is put back
)

// Event reports one step of one update. Events go to Options.OnEvent and to
// Options.Logger.
type Event struct {
	Step       Step
	Start, End time.Time
	App        string
	Machine    string
	From, To   string // versions; To is empty until a release is chosen
	Bytes      int64  // bytes moved by the step (download, extract)
	Err        error  // nil if the step succeeded
}

// Duration is how long the step took.
func (e Event) Duration() time.Duration { return e.End.Sub(e.Start) }

// Progress reports a download as it goes.
type Progress struct {
	Asset string
	Bytes int64 // downloaded so far
	Total int64 // expected size; 0 if unknown
}

// step measures one step and emits its event.
type step struct {
	u     *Updater
	ev    Event
	bytes int64
}

func (u *Updater) begin(s Step, to string) *step {
	return &step{u: u, ev: Event{Step: s, Start: u.now(), App: u.o.App, Machine: u.machine, From: u.o.Version, To: to}}
}

// end finishes the step with err (nil for success) and returns err wrapped
// in an *Error naming the step.
func (s *step) end(err error) error {
	s.ev.End = s.u.now()
	s.ev.Bytes = s.bytes
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
	if ev.Err != nil {
		level = slog.LevelWarn
		attrs = append(attrs, slog.String("err", ev.Err.Error()))
	}
	u.log.LogAttrs(context.Background(), level, "update", attrs...)
	if u.o.OnEvent != nil {
		u.o.OnEvent(ev)
	}
}
