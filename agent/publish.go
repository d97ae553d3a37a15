package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/molt-go/update/agent/deploylog"
	"github.com/molt-go/update/agent/git"
	"github.com/molt-go/update/step"
)

// ErrSkip means a Publisher does not publish a commit: it is published
// already, or its version rule leaves it out (an untagged commit when only
// tags are released). It is not a failure.
var ErrSkip = errors.New("agent: not published")

// Publisher publishes what the agent builds as releases of a feed, so
// that a fleet updates from the feed (cmd/runner's uses the package
// server's publisher). The agent calls Prepare once the commit is
// fetched, Build after the build commands, and Publish last: after the
// switch when the agent also runs the program, so a version that never
// became healthy here is not offered to the fleet.
type Publisher interface {
	// Prepare returns the version c is released as. An error wrapping
	// ErrSkip means c is not to be published; any other fails the
	// deployment before anything is built.
	Prepare(ctx context.Context, c git.Commit) (version string, err error)
	// Build builds the release of version from the workspace ws, writing
	// what it does to out. Nothing is published yet.
	Build(ctx context.Context, ws, version string, out io.Writer) error
	// Publish puts the release Build made into the feed. When it fails,
	// the feed is left as it was.
	Publish(ctx context.Context, version string, out io.Writer) error
}

// preparePublish asks the publisher, before a deployment is recorded,
// whether the head is published already or not to be: a publishing-only
// agent then has nothing to do, and logs no deployment (a restarted
// runner does not publish its last commit again). It reports whether to
// go on.
func (a *Agent) preparePublish(ctx context.Context, head string) (bool, error) {
	c, err := a.o.Repo.Fetch(ctx, head, nil)
	if err != nil {
		return true, nil // the deployment's fetch step records it
	}
	v, err := a.o.Publisher.Prepare(ctx, c)
	if errors.Is(err, ErrSkip) {
		a.log.Info("agent: nothing to publish", "commit", head, "err", err)
		a.statusMu.Lock()
		a.status.Version = v
		a.statusMu.Unlock()
		if a.running == "" {
			a.running = v
		}
		return false, nil
	}
	return true, nil
}

// buildRelease runs the publisher's build into the build step's output;
// version "" means the commit is not published.
func (a *Agent) buildRelease(ctx context.Context, d *deploylog.Deployment, c git.Commit, ws string, out io.Writer) (string, error) {
	v, err := a.o.Publisher.Prepare(ctx, c)
	if errors.Is(err, ErrSkip) {
		fmt.Fprintf(out, "not publishing %s: %v\n", c.Hash[:12], err)
		return "", nil
	}
	if err != nil {
		return "", err
	}
	a.versioned(ctx, d, v)
	return v, a.o.Publisher.Build(ctx, ws, v, out)
}

// publish records the publisher's publish step.
func (a *Agent) publish(ctx context.Context, d *deploylog.Deployment, version string) error {
	out := newCapped(a.o.MaxOutput)
	start := time.Now()
	err := a.o.Publisher.Publish(ctx, version, out)
	a.record(ctx, d, deploylog.Step(step.Publish), start, time.Now(), err, out.String())
	return err
}
