package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// pollLoad is what the server holds of plain polling: conns goroutines,
// each on a kept-alive connection of its own, send conditional GETs of the
// feed (If-None-Match: the current ETag) back to back for d, as a fleet
// that polls does; only 304s count.
func pollLoad(base string, conns int, d time.Duration) (perSec float64, other int64, err error) {
	feedURL := base + appName + "/feed.json"
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	resp, err := hc.Get(feedURL)
	if err != nil {
		return 0, 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != http.StatusOK || etag == "" {
		return 0, 0, fmt.Errorf("GET %s: %s, ETag %q", feedURL, resp.Status, etag)
	}

	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var ok, bad atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range conns {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodGet, feedURL, nil)
			req.Header.Set("If-None-Match", etag)
			for ctx.Err() == nil {
				resp, err := hc.Do(req)
				if err != nil {
					bad.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusNotModified {
					ok.Add(1)
				} else {
					bad.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return float64(ok.Load()) / time.Since(start).Seconds(), bad.Load(), nil
}

// rawPollLoad is pollLoad with a lean client: each connection writes one
// prepared conditional GET, reads the answer's head (a 304 has no body)
// and sends the next, so that the load generator, which shares the
// machine's cores with the server, spends a few microseconds a request
// instead of net/http's client's tens, and what is measured is the server.
// It sends no request before the answer to the last one (no pipelining):
// each connection is one machine polling.
func rawPollLoad(base string, conns int, d time.Duration) (perSec float64, other int64, err error) {
	u, err := url.Parse(base)
	if err != nil {
		return 0, 0, err
	}
	resp, err := http.Get(base + appName + "/feed.json")
	if err != nil {
		return 0, 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != http.StatusOK || etag == "" {
		return 0, 0, fmt.Errorf("GET feed: %s, ETag %q", resp.Status, etag)
	}
	req := []byte("GET /" + appName + "/feed.json HTTP/1.1\r\nHost: " + u.Host + "\r\nIf-None-Match: " + etag + "\r\n\r\n")
	deadline := time.Now().Add(d)
	var ok, bad atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range conns {
		wg.Go(func() {
			c, err := net.Dial("tcp", u.Host)
			if err != nil {
				bad.Add(1)
				return
			}
			defer c.Close()
			c.SetDeadline(deadline.Add(5 * time.Second))
			r := bufio.NewReaderSize(c, 4096)
			for time.Now().Before(deadline) {
				if _, err := c.Write(req); err != nil {
					bad.Add(1)
					return
				}
				status, err := r.ReadSlice('\n')
				if err != nil {
					bad.Add(1)
					return
				}
				// The head ends at an empty line; a 304 has no body.
				for {
					line, err := r.ReadSlice('\n')
					if err != nil {
						bad.Add(1)
						return
					}
					if len(line) <= 2 {
						break
					}
				}
				if bytes.HasPrefix(status, []byte("HTTP/1.1 304 ")) {
					ok.Add(1)
				} else {
					bad.Add(1)
					return // a body may follow: this connection is done
				}
			}
		})
	}
	wg.Wait()
	return float64(ok.Load()) / time.Since(start).Seconds(), bad.Load(), nil
}
