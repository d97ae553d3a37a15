package supervise

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/molt-go/update/internal/httpx"
)

// HealthCheck tells whether a child serves.
type HealthCheck interface {
	// Healthy returns nil if the program answers as it should.
	Healthy(ctx context.Context) error
}

// HTTPHealth is healthy when a GET of URL answers with a 2xx status.
type HTTPHealth struct {
	// URL is asked, such as http://127.0.0.1:8080/healthz. Required.
	URL string
	// Client makes the request. If nil, a client with connect and header
	// timeouts that never follows https to http.
	Client *http.Client
}

// maxHealthBody bounds what is read of a health answer: it is drained only
// so the connection can be reused.
const maxHealthBody = 64 << 10

// Healthy asks URL once.
func (h HTTPHealth) Healthy(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.URL, nil)
	if err != nil {
		return fmt.Errorf("supervise: health %s: %w", h.URL, err)
	}
	resp, err := httpx.Client(h.Client).Do(req)
	if err != nil {
		return fmt.Errorf("supervise: health: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxHealthBody))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("supervise: health %s: %s", h.URL, resp.Status)
	}
	return nil
}

// TCPHealth is healthy when Addr (host:port) accepts a connection.
type TCPHealth struct {
	Addr string
}

// Healthy connects to Addr once.
func (h TCPHealth) Healthy(ctx context.Context) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", h.Addr)
	if err != nil {
		return fmt.Errorf("supervise: health: %w", err)
	}
	return conn.Close()
}

// waitHealthy polls s.Health until it passes, the child exits, or
// HealthTimeout passes.
func (s *Supervisor) waitHealthy(ctx context.Context, c *child) error {
	timeout := s.HealthTimeout
	if timeout <= 0 {
		timeout = DefaultHealthTimeout
	}
	interval := s.HealthInterval
	if interval <= 0 {
		interval = DefaultHealthInterval
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if s.Health == nil {
		select {
		case <-c.done:
			return fmt.Errorf("%w: exited at once: %v", ErrUnhealthy, exitStatus(c))
		default:
			return nil
		}
	}
	var last error
	for {
		select {
		case <-c.done:
			return fmt.Errorf("%w: exited: %v", ErrUnhealthy, exitStatus(c))
		default:
		}
		attempt, cancelAttempt := context.WithTimeout(ctx, max(interval, time.Second))
		last = s.Health.Healthy(attempt)
		cancelAttempt()
		if last == nil {
			// The answer may have come from a process that is not ours,
			// one that was just dying: only a child still alive counts.
			if c.exited() {
				return fmt.Errorf("%w: exited: %v", ErrUnhealthy, exitStatus(c))
			}
			return nil
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w within %v: %w", ErrUnhealthy, timeout, last)
		case <-c.done:
			t.Stop()
			return fmt.Errorf("%w: exited: %v", ErrUnhealthy, exitStatus(c))
		case <-t.C:
		}
	}
}

func exitStatus(c *child) error {
	<-c.done
	if c.err == nil {
		return fmt.Errorf("exit status 0")
	}
	return c.err
}
