package main

import (
	"io"
	"log/slog"
)

// discardLogger keeps the updater's log lines off the terminal: hello shows
// events itself.
func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
