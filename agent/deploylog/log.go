// Package deploylog keeps the log of deployments: every step of every
// deployment (detect, fetch, build, stop, start, health, rollback, done or
// failed, and the steps of self-updating programs) with its start and end
// time, the versions it upgrades from and to, the machine, its labels and
// the project.
//
// The agent (package agent) records what it deploys from a git branch; the
// package server's collector (server/collect) records the update events
// that programs report with package report, grouping the steps of one
// update into one Deployment; server/pages shows the log.
//
// A Store keeps the log. Open takes what a command's -db flag says: a
// SQLite file (OpenSQLite, pure Go, no cgo, the default) or a PostgreSQL
// URL, postgres://... (OpenPostgres, through pgx), for a log that several
// servers share or that outgrows a file. Both keep the same fields, times
// to the nanosecond, and IDs that only grow; MemoryStore keeps the log for
// as long as the process lives. Package logtest gives one store of each
// kind, so that a test runs against all of them; package pgtest starts a
// real PostgreSQL server for a test.
package deploylog

import (
	"context"
	"errors"
	"time"

	"github.com/molt-go/update/step"
)

// Errors returned by this package, to be tested with errors.Is.
var (
	// ErrNotDatabase means the file given to OpenSQLite exists but is not a
	// SQLite database. The file was not changed.
	ErrNotDatabase = errors.New("deploy: file is not a SQLite database")
	// ErrNotFound means there is no deployment with that ID.
	ErrNotFound = errors.New("deploy: no such deployment")
	// ErrInvalidEvent means a reported Event lacks a required field, has a
	// field that is too long, or has times that cannot be right. The
	// Collector answers it with 400 Bad Request.
	ErrInvalidEvent = errors.New("deploy: invalid event")
)

// Step names a step of a deployment (see package step).
type Step = step.Name

// The steps of a deployment, in order. A deployment ends with StepDone or
// StepFailed, a step of no duration that says how it ended.
const (
	StepDetect   = step.Detect
	StepFetch    = step.Fetch
	StepBuild    = step.Build
	StepStop     = step.Stop
	StepStart    = step.Start
	StepHealth   = step.Health
	StepRollback = step.Rollback
	StepDone     = step.Done
	StepFailed   = step.Failed
)

// Status is how a deployment stands.
type Status string

// The statuses of a deployment.
const (
	StatusRunning Status = "running"
	StatusDone    Status = "done"
	StatusFailed  Status = "failed"
)

// Deployment is one attempt to bring the program from one version to
// another.
type Deployment struct {
	ID      int64     `json:"id"`
	Project string    `json:"project"`
	Machine string    `json:"machine"`
	Labels  []string  `json:"labels,omitempty"` // the groups the machine says it belongs to (update.Options.Labels)
	From    string    `json:"from"`             // the version running before; "" for the first
	To      string    `json:"to"`               // the version deployed
	Commit  string    `json:"commit"`           // its commit hash
	Subject string    `json:"subject,omitempty"`
	Status  Status    `json:"status"`
	Error   string    `json:"error,omitempty"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end,omitzero"` // zero while running
	Steps   []StepLog `json:"steps,omitempty"`
}

// Failed reports whether the deployment failed.
func (d *Deployment) Failed() bool { return d.Status == StatusFailed }

// Duration is how long the deployment took, or has taken so far.
func (d *Deployment) Duration() time.Duration {
	if d.End.IsZero() {
		return time.Since(d.Start)
	}
	return d.End.Sub(d.Start)
}

// StepLog is the record of one step. It repeats the deployment's project,
// machine and versions, so that a step read alone says what it was part of.
type StepLog struct {
	ID           int64     `json:"id"`
	DeploymentID int64     `json:"deployment_id"`
	Step         Step      `json:"step"`
	Project      string    `json:"project"`
	Machine      string    `json:"machine"`
	From         string    `json:"from"`
	To           string    `json:"to"`
	Start        time.Time `json:"start"`
	End          time.Time `json:"end,omitzero"` // zero while the step runs
	Error        string    `json:"error,omitempty"`
	Output       string    `json:"output,omitempty"` // what the step printed, such as the build's output
	Bytes        int64     `json:"bytes,omitempty"`  // bytes the step moved, such as a download's size
}

// Failed reports whether the step failed.
func (s *StepLog) Failed() bool { return s.Error != "" || s.Step == StepFailed }

// Duration is how long the step took.
func (s *StepLog) Duration() time.Duration {
	if s.End.IsZero() {
		return 0
	}
	return s.End.Sub(s.Start)
}

// Store keeps deployments and their steps. Open gives one kept in a
// database (SQLite or PostgreSQL); MemoryStore keeps them for as long as
// the process lives. A Store is used from several goroutines.
type Store interface {
	// Create records a new deployment (its Steps are ignored) and sets its ID.
	Create(ctx context.Context, d *Deployment) error
	// Update saves d's fields other than Steps.
	Update(ctx context.Context, d *Deployment) error
	// AddStep records a step of deployment s.DeploymentID and sets s.ID.
	AddStep(ctx context.Context, s *StepLog) error
	// UpdateStep saves the step's end, error and output.
	UpdateStep(ctx context.Context, s *StepLog) error
	// List returns the newest deployments first, at most limit of them
	// (all if limit <= 0), with their steps.
	List(ctx context.Context, limit int) ([]Deployment, error)
	// Get returns one deployment with its steps, or an error wrapping
	// ErrNotFound.
	Get(ctx context.Context, id int64) (*Deployment, error)
}

// CheckStatus is the outcome of the agent's last look at the branch.
type CheckStatus struct {
	Time    time.Time `json:"time,omitzero"`
	Head    string    `json:"head,omitempty"`
	Error   string    `json:"error,omitempty"`
	Version string    `json:"version,omitempty"` // the version that serves
}
