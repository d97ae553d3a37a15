//go:build unix

package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// daemonLoad sends GET / from several workers, half of them over kept-alive
// connections and half over a new connection each, until stopped or until
// a bounded number of requests has been sent.
type daemonLoad struct {
	stopped chan struct{}
	done    sync.WaitGroup
	sent    atomic.Int64

	mu       sync.Mutex
	answers  map[string]int
	failures []error
}

const daemonLoadMax = 1_000_000

func startDaemonLoad(t *testing.T, base string, workers int) *daemonLoad {
	l := &daemonLoad{stopped: make(chan struct{}), answers: map[string]int{}}
	keepAlive := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}, Timeout: daemonWait}
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: daemonWait}
	for i := range workers {
		client := keepAlive
		if i%2 == 1 {
			client = fresh
		}
		l.done.Go(func() {
			for l.sent.Add(1) <= daemonLoadMax {
				select {
				case <-l.stopped:
					return
				default:
				}
				body, err := getBody(client, base+"/")
				l.mu.Lock()
				if err != nil {
					l.failures = append(l.failures, err)
				} else {
					l.answers[body]++
				}
				l.mu.Unlock()
				time.Sleep(time.Millisecond) // leave the two cores some air
			}
		})
	}
	t.Cleanup(l.stop)
	return l
}

func getBody(client *http.Client, url string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), daemonWait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = errors.New(resp.Status)
	}
	return string(b), err
}

func (l *daemonLoad) stop() {
	select {
	case <-l.stopped:
	default:
		close(l.stopped)
	}
	l.done.Wait()
}

func (l *daemonLoad) count(body string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.answers[body]
}

// waitFor waits until n requests have been answered "daemon <version>".
func (l *daemonLoad) waitFor(t *testing.T, version string, n int) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("%d answers from %s", n, version), func() bool { return l.count("daemon "+version+"\n") >= n })
}

// check stops the load and fails the test if a request failed or was
// answered by a version other than those allowed.
func (l *daemonLoad) check(t *testing.T, allowed ...string) {
	t.Helper()
	l.stop()
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, err := range l.failures {
		if i == 5 {
			break
		}
		t.Errorf("request failed: %v", err)
	}
	if len(l.failures) > 0 {
		t.Errorf("%d requests failed", len(l.failures))
	}
	total := len(l.failures)
	for body, n := range l.answers {
		total += n
		ok := false
		for _, v := range allowed {
			ok = ok || body == "daemon "+v+"\n"
		}
		if !ok {
			t.Errorf("%d answers %q; want only versions %v", n, body, allowed)
		}
	}
	t.Logf("%d requests, %d failed, answers %v", total, len(l.failures), strings.ReplaceAll(fmt.Sprint(l.answers), "\n", ""))
}
