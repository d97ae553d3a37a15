package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
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
