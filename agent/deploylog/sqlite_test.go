package deploylog

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// The schemas of earlier versions, as their files have them: frozen here,
// never derived from schema, so that a change to schema is tested against
// what is really out there.
const (
	// schemaV1 is the first: no byte counts, no labels.
	schemaV1 = `
CREATE TABLE deployments (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	project TEXT NOT NULL,
	machine TEXT NOT NULL,
	from_v  TEXT NOT NULL,
	to_v    TEXT NOT NULL,
	commit_hash TEXT NOT NULL,
	subject TEXT NOT NULL,
	status  TEXT NOT NULL,
	error   TEXT NOT NULL,
	start_ns INTEGER NOT NULL,
	end_ns   INTEGER NOT NULL
);
CREATE TABLE steps (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	deployment_id INTEGER NOT NULL REFERENCES deployments(id),
	step    TEXT NOT NULL,
	project TEXT NOT NULL,
	machine TEXT NOT NULL,
	from_v  TEXT NOT NULL,
	to_v    TEXT NOT NULL,
	start_ns INTEGER NOT NULL,
	end_ns   INTEGER NOT NULL,
	error   TEXT NOT NULL,
	output  TEXT NOT NULL
);
CREATE INDEX steps_deployment ON steps(deployment_id, id);
INSERT INTO deployments VALUES (1, 'p', 'm', '', 'v1', 'c', '', 'done', '', 1, 2);
INSERT INTO steps VALUES (1, 1, 'build', 'p', 'm', '', 'v1', 1, 2, '', 'ok');`

	// schemaV2 added steps.bytes (reported update events).
	schemaV2 = `
CREATE TABLE deployments (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	project TEXT NOT NULL,
	machine TEXT NOT NULL,
	from_v  TEXT NOT NULL,
	to_v    TEXT NOT NULL,
	commit_hash TEXT NOT NULL,
	subject TEXT NOT NULL,
	status  TEXT NOT NULL,
	error   TEXT NOT NULL,
	start_ns INTEGER NOT NULL,
	end_ns   INTEGER NOT NULL
);
CREATE TABLE steps (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	deployment_id INTEGER NOT NULL REFERENCES deployments(id),
	step    TEXT NOT NULL,
	project TEXT NOT NULL,
	machine TEXT NOT NULL,
	from_v  TEXT NOT NULL,
	to_v    TEXT NOT NULL,
	start_ns INTEGER NOT NULL,
	end_ns   INTEGER NOT NULL,
	error   TEXT NOT NULL,
	output  TEXT NOT NULL,
	bytes   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX steps_deployment ON steps(deployment_id, id);
INSERT INTO deployments VALUES (1, 'p', 'm', '', 'v1', 'c', '', 'done', '', 1, 2);
INSERT INTO steps VALUES (1, 1, 'build', 'p', 'm', '', 'v1', 1, 2, '', 'ok', 0);`
)

// TestSQLiteOpensOlderDatabases: a log written by an earlier version (one
// before steps had a byte count, one before deployments had labels) opens,
// keeps its rows, takes new ones with bytes and labels, and opens again.
func TestSQLiteOpensOlderDatabases(t *testing.T) {
	t.Parallel()
	for name, old := range map[string]string{"v1": schemaV1, "v2": schemaV2} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "old.db")
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			_, err = db.ExecContext(ctx, old)
			db.Close()
			if err != nil {
				t.Fatal(err)
			}
			for open := 1; open <= 2; open++ {
				s, err := OpenSQLite(ctx, path)
				if err != nil {
					t.Fatalf("open %d: %v", open, err)
				}
				if open == 1 {
					if err := s.AddStep(ctx, &StepLog{DeploymentID: 1, Step: "download", Start: time.Now(), Bytes: 1234}); err != nil {
						t.Fatal(err)
					}
					if err := s.Create(ctx, &Deployment{Project: "p", Machine: "m", Labels: []string{"eu"}, Status: StatusRunning, Start: time.Now()}); err != nil {
						t.Fatal(err)
					}
				}
				d, err := s.Get(ctx, 1)
				if err != nil || len(d.Steps) != 2 || d.Labels != nil || d.To != "v1" || d.Steps[0].Output != "ok" || d.Steps[0].Bytes != 0 || d.Steps[1].Bytes != 1234 {
					t.Fatalf("open %d: the old deployment reads %+v, %v", open, d, err)
				}
				n, err := s.Get(ctx, 2)
				if err != nil || !slices.Equal(n.Labels, []string{"eu"}) {
					t.Fatalf("open %d: the new deployment reads %+v, %v", open, n, err)
				}
				s.Close()
			}
		})
	}
}
