package github

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// RateLimit is GitHub's rate limit as its last answer reported it
// (X-RateLimit-* headers). Without a token GitHub allows 60 requests an
// hour from one address; with one, 5,000 for the token's owner.
type RateLimit struct {
	// Limit is how many requests the hour allows; Remaining how many are
	// left of them, and Used how many are spent.
	Limit, Remaining, Used int
	// Reset is when the count starts again.
	Reset time.Time
	// Resource is the limit's pool, "core" for the REST API.
	Resource string
	// At is when GitHub said so.
	At time.Time
}

// String writes the limit for a log line: "57/60 left, resets 15:04:05Z".
func (r RateLimit) String() string {
	return fmt.Sprintf("%d/%d left, resets %s", r.Remaining, r.Limit, r.Reset.UTC().Format(time.TimeOnly+"Z"))
}

// RateLimit returns the rate limit GitHub reported in its last answer to
// this Source, and false if no answer has said yet. A program that checks
// for updates at every start can use it to space its looks, or to tell the
// user to set a token.
func (s *Source) RateLimit() (RateLimit, bool) { return s.rate.get() }

// rateState holds the last RateLimit, for the accessor and the errors.
type rateState struct {
	mu   sync.Mutex
	last RateLimit
	ok   bool
}

func (r *rateState) get() (RateLimit, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last, r.ok
}

// observe records the rate limit headers of an API answer, if it has them.
func (r *rateState) observe(h http.Header, now time.Time) (RateLimit, bool) {
	rl, ok := parseRateLimit(h, now)
	if !ok {
		return RateLimit{}, false
	}
	r.mu.Lock()
	r.last, r.ok = rl, true
	r.mu.Unlock()
	return rl, true
}

func parseRateLimit(h http.Header, now time.Time) (RateLimit, bool) {
	limit, err1 := strconv.Atoi(h.Get("X-RateLimit-Limit"))
	remaining, err2 := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	if err1 != nil || err2 != nil {
		return RateLimit{}, false
	}
	rl := RateLimit{Limit: limit, Remaining: remaining, Resource: h.Get("X-RateLimit-Resource"), At: now}
	rl.Used, _ = strconv.Atoi(h.Get("X-RateLimit-Used"))
	if secs, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil {
		rl.Reset = time.Unix(secs, 0)
	}
	return rl, true
}

// RateLimitError is GitHub's answer when the rate limit is spent (403 or
// 429 with X-RateLimit-Remaining: 0, or a secondary limit with
// Retry-After). errors.Is(err, ErrRateLimited) holds for it.
type RateLimitError struct {
	// Reset is when GitHub accepts requests again; zero if it did not say.
	Reset time.Time
	// Limit is the hourly limit that is spent (60 without a token), zero
	// for a secondary limit or when GitHub did not say.
	Limit int
	// Message is GitHub's explanation, if any.
	Message string
}

// Error says when the limit resets, so a log line alone tells how long to
// wait.
func (e *RateLimitError) Error() string {
	msg := ErrRateLimited.Error()
	if e.Limit > 0 {
		msg += fmt.Sprintf(" (%d requests an hour)", e.Limit)
	}
	if !e.Reset.IsZero() {
		msg += " until " + e.Reset.UTC().Format(time.RFC3339)
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// Unwrap returns ErrRateLimited.
func (e *RateLimitError) Unwrap() error { return ErrRateLimited }

// rateLimited reports whether resp is GitHub's rate-limit answer: 403 or
// 429 with X-RateLimit-Remaining: 0 (reset at X-RateLimit-Reset), or with
// Retry-After (a secondary limit).
func rateLimited(resp *http.Response, now time.Time) *RateLimitError {
	if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusTooManyRequests {
		return nil
	}
	h := resp.Header
	if ra := h.Get("Retry-After"); ra != "" {
		if secs, err := strconv.Atoi(ra); err == nil {
			return &RateLimitError{Reset: now.Add(time.Duration(secs) * time.Second)}
		}
		if t, err := http.ParseTime(ra); err == nil {
			return &RateLimitError{Reset: t}
		}
		return &RateLimitError{}
	}
	if h.Get("X-RateLimit-Remaining") == "0" {
		rl := &RateLimitError{}
		if p, ok := parseRateLimit(h, now); ok {
			rl.Reset, rl.Limit = p.Reset, p.Limit
		}
		return rl
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		return &RateLimitError{}
	}
	return nil
}
