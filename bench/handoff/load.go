package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// result is one request of the load.
type result struct {
	due     time.Time     // when the ticker started it
	latency time.Duration // from due to the end of the body
	body    string
	err     error
}

// load sends GET / at a steady rate, open-loop.
type load struct {
	done    chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex
	results []result
}

func startLoad(base string, rate, fresh int) *load {
	l := &load{done: make(chan struct{})}
	keepAlive := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 30 * time.Second}
	newConn := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
	l.wg.Go(func() {
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for n := 0; ; n++ {
			var due time.Time
			select {
			case <-l.done:
				return
			case due = <-tick.C:
			}
			client := keepAlive
			if fresh > 0 && n%fresh == 0 {
				client = newConn
			}
			l.wg.Go(func() {
				body, err := get(context.Background(), client, base+"/")
				r := result{due: due, latency: time.Since(due), body: body, err: err}
				l.mu.Lock()
				l.results = append(l.results, r)
				l.mu.Unlock()
			})
		}
	})
	return l
}

// stop stops sending, waits for the requests in flight and returns all.
func (l *load) stop() []result {
	close(l.done)
	l.wg.Wait()
	return l.results
}

// report prints the table: requests, failures, and latency during upgrades
// beside latency outside them.
func report(w io.Writer, c config, results []result, ups []upgrade) {
	const after = 500 * time.Millisecond // the old process's drain, after the switch
	during := func(t time.Time) bool {
		for _, u := range ups {
			if !t.Before(u.hup) && t.Before(u.switched.Add(after)) {
				return true
			}
		}
		return false
	}
	var in, out []time.Duration
	failed := 0
	var firstErrs []string
	for _, r := range results {
		if r.err != nil || !strings.HasPrefix(r.body, "daemon ") {
			failed++
			if len(firstErrs) < 5 {
				firstErrs = append(firstErrs, fmt.Sprint(r.err))
			}
			continue
		}
		if during(r.due) {
			in = append(in, r.latency)
		} else {
			out = append(out, r.latency)
		}
	}
	var took []time.Duration
	for _, u := range ups {
		took = append(took, u.took())
	}
	slices.Sort(took)
	fmt.Fprintf(w, "handoff: %d upgrades of examples/daemon under %d req/s open-loop (1 in %d on a new connection), probation %v\n\n",
		len(ups), c.rate, c.fresh, c.probation)
	fmt.Fprintf(w, "| requests sent | failed | upgrade time (SIGHUP to new version answering), median / max |\n|---:|---:|---|\n")
	fmt.Fprintf(w, "| %d | %d | %v / %v |\n\n", len(results), failed, pct(took, 50), pct(took, 100))
	fmt.Fprintf(w, "| window | requests | p50 | p99 | max |\n|---|---:|---:|---:|---:|\n")
	for _, row := range []struct {
		name string
		lat  []time.Duration
	}{{"during upgrades", in}, {"steady", out}} {
		slices.Sort(row.lat)
		fmt.Fprintf(w, "| %s | %d | %v | %v | %v |\n", row.name, len(row.lat), pct(row.lat, 50), pct(row.lat, 99), pct(row.lat, 100))
	}
	if p99in, p99out := pct(in, 99), pct(out, 99); p99out > 0 {
		fmt.Fprintf(w, "\np99 during upgrades / p99 steady = %.2f (target <= 3)\n", float64(p99in)/float64(p99out))
	}
	for _, e := range firstErrs {
		fmt.Fprintf(w, "failure: %s\n", e)
	}
}

// pct returns the p-th percentile of sorted durations, rounded for reading.
func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	i = min(max(i-1, 0), len(sorted)-1)
	d := sorted[i]
	switch {
	case d > 10*time.Millisecond:
		return d.Round(100 * time.Microsecond)
	case d > time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}
