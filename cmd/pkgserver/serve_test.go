package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeRefusesNegativeRelist: -relist reaches the server's options,
// which refuse a negative one before anything listens.
func TestServeRefusesNegativeRelist(t *testing.T) {
	dir := t.TempDir()
	if err := keygen([]string{"-out", dir}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- serve([]string{"-dir", dir, "-key", filepath.Join(dir, "update.key"), "-addr", "127.0.0.1:0", "-relist", "-1s"})
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("serve -relist -1s is serving: the flag did not reach the server's options")
	}
	if err == nil || !strings.Contains(err.Error(), "negative Relist") {
		t.Fatalf("serve -relist -1s: %v, want the negative Relist refused", err)
	}
}
