package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	update "github.com/molt-go/update"
	"github.com/molt-go/update/source"
	"github.com/molt-go/update/source/feed"
	"github.com/molt-go/update/updatetest"
	"github.com/molt-go/update/verify"
)

// machine is one simulated installation: a real Updater with its own
// executable file, state directory (so its own install ID) and feed
// Client, whose Applier and Restarter record instead of restarting.
type machine struct {
	u      *update.Updater
	src    *feed.Client
	target string

	mu      sync.Mutex
	version string               // the version it runs
	saw     map[string]time.Time // when a verified pushed feed first listed each version
}

// sawFeed notes the versions a verified feed lists, at t.
func (m *machine) sawFeed(l *source.Listing, t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range l.Releases {
		if _, ok := m.saw[r.Version]; !ok {
			m.saw[r.Version] = t
		}
	}
}

func (m *machine) sawAt(version string) (time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	at, ok := m.saw[version]
	return at, ok
}

func (m *machine) running() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.version
}

// fleet is the machines and the one HTTP transport they share, as the
// processes of a fleet share a network.
type fleet struct {
	ms    []*machine
	trans *waitCounter
	keys  verify.Verifier // the key every machine pins
}

// waitCounter counts the long-polls in flight (a held one has not had its
// response headers yet) and notes when each push answer (200) came.
type waitCounter struct {
	next http.RoundTripper
	held atomic.Int64

	mu     sync.Mutex
	pushes []time.Time
}

func (c *waitCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if !r.URL.Query().Has(feed.WaitParam) {
		return c.next.RoundTrip(r)
	}
	c.held.Add(1)
	resp, err := c.next.RoundTrip(r)
	c.held.Add(-1)
	if err == nil && resp.StatusCode == http.StatusOK {
		c.mu.Lock()
		c.pushes = append(c.pushes, time.Now())
		c.mu.Unlock()
	}
	return resp, err
}

// pushedSince returns the times of the push answers that came after t.
func (c *waitCounter) pushedSince(t time.Time) []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []time.Time
	for _, at := range c.pushes {
		if at.After(t) {
			out = append(out, at)
		}
	}
	return out
}

func newFleet(work, base string, n int, pub []byte) (*fleet, error) {
	keys, err := verify.Signature(pub)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{
		MaxIdleConns:          n + 64,
		MaxIdleConnsPerHost:   n + 64,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
	}
	f := &fleet{trans: &waitCounter{next: tr}, keys: keys}
	hc := &http.Client{Transport: f.trans}
	quiet := slog.New(slog.DiscardHandler)
	for i := range n {
		dir := filepath.Join(work, "machines", fmt.Sprint(i))
		m := &machine{target: filepath.Join(dir, "fleet"), version: "1.0.0", saw: map[string]time.Time{}}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(m.target, []byte("fleet 1.0.0"), 0o755); err != nil {
			return nil, err
		}
		m.src = &feed.Client{URL: base + appName + "/", HTTPClient: hc}
		m.u, err = update.New(update.Options{
			App:       appName,
			Version:   "1.0.0",
			Source:    m.src,
			Verifier:  keys,
			Target:    m.target,
			StateDir:  filepath.Join(dir, "state"),
			Applier:   &updatetest.Applier{},
			Restarter: &updatetest.Restarter{},
			SkipProbe: true,
			Logger:    quiet,
			OnEvent: func(e update.Event) {
				if e.Err != nil {
					return
				}
				if e.Step == update.StepApply {
					m.mu.Lock()
					m.version = e.To
					m.mu.Unlock()
				}
			},
		})
		if err != nil {
			return nil, err
		}
		f.ms = append(f.ms, m)
	}
	return f, nil
}

// checkAll runs Check on every machine, parallel at a time, and returns
// how many failed (with the first error).
func (f *fleet) checkAll(ctx context.Context, parallel int) (failed int, first error) {
	var mu sync.Mutex
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for _, m := range f.ms {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if _, err := m.u.Check(ctx); err != nil {
				mu.Lock()
				if failed++; first == nil {
					first = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return failed, first
}

// on counts the machines that run version.
func (f *fleet) on(version string) int {
	n := 0
	for _, m := range f.ms {
		if m.running() == version {
			n++
		}
	}
	return n
}
