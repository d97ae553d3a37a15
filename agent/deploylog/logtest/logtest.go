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
	"github.com/molt-go/update/agent/deploylog/pgtest"
)

// Stores returns one empty store of each kind, by name ("memory",
// "sqlite", "postgres"), closed when the test ends. The PostgreSQL one
// runs on a server of the test's own (package pgtest), and is left out,
// with a line in the test's log, where PostgreSQL is not installed or
// under -short.
func Stores(t testing.TB) map[string]deploylog.Store {
	t.Helper()
	ctx := context.Background()
	db, err := deploylog.OpenSQLite(ctx, filepath.Join(t.TempDir(), "log.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	stores := map[string]deploylog.Store{"sqlite": db, "memory": &deploylog.MemoryStore{}}
	if srv := pgtest.StartIfInstalled(t); srv != nil {
		pg, err := deploylog.OpenPostgres(ctx, srv.NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pg.Close() })
		stores["postgres"] = pg
	}
	return stores
}

// StepNames lists d's steps in order, separated by commas.
func StepNames(d *deploylog.Deployment) string {
	var n []string
	for _, s := range d.Steps {
		n = append(n, string(s.Step))
	}
	return strings.Join(n, ",")
}
