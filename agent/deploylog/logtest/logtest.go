// Package logtest helps test code built on the deployment log: one empty
// store of each kind, so a test runs against all of them, and a compact
// form of a deployment's steps for assertions.
package logtest

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/molt-go/update/agent/deploylog"
)

// Stores returns one empty store of each kind, by name, closed when the
// test ends.
func Stores(t testing.TB) map[string]deploylog.Store {
	t.Helper()
	db, err := deploylog.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "log.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return map[string]deploylog.Store{"sqlite": db, "memory": &deploylog.MemoryStore{}}
}

// StepNames lists d's steps in order, separated by commas.
func StepNames(d *deploylog.Deployment) string {
	var n []string
	for _, s := range d.Steps {
		n = append(n, string(s.Step))
	}
	return strings.Join(n, ",")
}
