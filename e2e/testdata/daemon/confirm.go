package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	update "github.com/molt-go/update"
)

// confirmWhenServing confirms this version once it has answered a request
// on its own listening socket: the proof that a client reaches it. Until
// then the version stays pending, and is rolled back at the confirm
// deadline. Right after a handoff the old process may still answer a
// request or two on the shared socket, and may still hold the updater's
// lock; both are waited out.
func confirmWhenServing(ctx context.Context, u *update.Updater, addr string, log *slog.Logger) {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	want := "daemon " + version + "\n"
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	served := false
	for {
		if !served {
			served = answers(ctx, client, "http://"+addr+"/", want)
		}
		if served {
			err := u.Confirm(ctx)
			if err == nil {
				log.Info("daemon: serving; version confirmed")
				return
			}
			if !errors.Is(err, update.ErrInProgress) {
				log.Warn("daemon: confirm failed", "err", err)
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// answers reports whether GET url answers want.
func answers(ctx context.Context, client *http.Client, url, want string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	return err == nil && resp.StatusCode == http.StatusOK && string(body) == want
}
