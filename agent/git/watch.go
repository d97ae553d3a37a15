package git

import (
	"context"
	"io"
	"net/http"
	"time"
)

// DefaultInterval is how often Watch polls when given no interval.
const DefaultInterval = time.Minute

// maxHookBody bounds what the hook reads of a webhook's body: it only
// drains it so that the sender's connection can be reused.
const maxHookBody = 1 << 20

// Watch calls check at once, then every interval and whenever the Hook
// handler is called, until ctx ends. Calls never overlap: hook calls that
// arrive during a check fold into one more check after it. check decides
// what a new head means (Head tells it where the branch is).
func (r *Repo) Watch(ctx context.Context, interval time.Duration, check func(context.Context)) {
	if interval <= 0 {
		interval = DefaultInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.hook:
		}
	}
}

// Hook returns the push trigger: an http.Handler for a git post-receive
// hook or a forge's push webhook to POST to, which makes Watch check the
// branch now rather than at the next poll. It answers 202 Accepted at once.
//
// The hook needs no secret: it carries no data that is trusted (the body is
// ignored), and the most a stranger can do is make the watcher ask the
// configured repository for its head one more time. Mount it behind your
// own authentication if even that matters.
func (r *Repo) Hook() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "POST to trigger a check", http.StatusMethodNotAllowed)
			return
		}
		io.Copy(io.Discard, io.LimitReader(req.Body, maxHookBody))
		select {
		case r.hook <- struct{}{}:
		default: // a check is already due
		}
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, "check scheduled\n")
	})
}
