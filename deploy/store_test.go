package deploy

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// stores returns one of each Store, empty.
func stores(t *testing.T) map[string]Store {
	t.Helper()
	db, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "log.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return map[string]Store{"sqlite": db, "memory": &MemoryStore{}}
}

func TestStoreRoundTrip(t *testing.T) {
	t.Parallel()
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			t0 := time.Date(2026, 3, 4, 5, 6, 7, 890, time.UTC)
			d1 := &Deployment{Project: "app", Machine: "m1", From: "", To: "v0.0.0-x", Commit: "c1", Status: StatusRunning, Start: t0}
			if err := s.Create(ctx, d1); err != nil || d1.ID == 0 {
				t.Fatalf("Create: %v, id %d", err, d1.ID)
			}
			st := &StepLog{DeploymentID: d1.ID, Step: StepBuild, Project: "app", Machine: "m1", To: "v0.0.0-x", Start: t0}
			if err := s.AddStep(ctx, st); err != nil || st.ID == 0 {
				t.Fatalf("AddStep: %v, id %d", err, st.ID)
			}
			st.End, st.Error, st.Output = t0.Add(time.Second), "exit status 1", "main.go:3: syntax error\n"
			if err := s.UpdateStep(ctx, st); err != nil {
				t.Fatal(err)
			}
			d1.Status, d1.End, d1.Error = StatusFailed, t0.Add(2*time.Second), "build failed"
			if err := s.Update(ctx, d1); err != nil {
				t.Fatal(err)
			}
			d2 := &Deployment{Project: "app", Machine: "m1", From: "v0", To: "v1", Status: StatusDone, Start: t0.Add(time.Minute)}
			if err := s.Create(ctx, d2); err != nil {
				t.Fatal(err)
			}

			all, err := s.List(ctx, 0)
			if err != nil || len(all) != 2 || all[0].ID != d2.ID || all[1].ID != d1.ID {
				t.Fatalf("List = %+v, %v; want newest first", all, err)
			}
			got := all[1]
			if !got.Failed() || got.Error != "build failed" || !got.Start.Equal(t0) || !got.End.Equal(d1.End) || len(got.Steps) != 1 {
				t.Errorf("listed %+v", got)
			}
			if gs := got.Steps[0]; gs.Output != st.Output || gs.Error != st.Error || !gs.End.Equal(st.End) || gs.Step != StepBuild || !gs.Failed() {
				t.Errorf("listed step %+v", gs)
			}
			if one, _ := s.List(ctx, 1); len(one) != 1 || one[0].ID != d2.ID {
				t.Errorf("List(1) = %+v", one)
			}
			g, err := s.Get(ctx, d1.ID)
			if err != nil || g.Commit != "c1" || len(g.Steps) != 1 {
				t.Errorf("Get = %+v, %v", g, err)
			}
			if _, err := s.Get(ctx, 999); !errors.Is(err, ErrNotFound) {
				t.Errorf("Get(999) = %v, want ErrNotFound", err)
			}
			if err := s.Update(ctx, &Deployment{ID: 999}); !errors.Is(err, ErrNotFound) {
				t.Errorf("Update(999) = %v, want ErrNotFound", err)
			}
			if err := s.AddStep(ctx, &StepLog{DeploymentID: 999}); !errors.Is(err, ErrNotFound) {
				t.Errorf("AddStep to 999 = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestSQLiteKeepsAcrossOpens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "log.db")
	s, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, &Deployment{Project: "p", Status: StatusDone, Start: time.Now()}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if all, err := s.List(ctx, 0); err != nil || len(all) != 1 || all[0].Project != "p" {
		t.Errorf("after reopening: %+v, %v", all, err)
	}
}

func TestSQLiteRefusesOtherFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, content := range map[string][]byte{
		"text":           []byte("my notes: not a database\n"),
		"short":          []byte("SQL"),
		"binary":         bytes.Repeat([]byte{0xff, 0x00, 0x13}, 4000),
		"corrupt sqlite": append([]byte("SQLite format 3\x00"), bytes.Repeat([]byte{0xab}, 8192)...),
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := OpenSQLite(context.Background(), path)
		if !errors.Is(err, ErrNotDatabase) {
			if s != nil {
				s.Close()
			}
			t.Errorf("%s: OpenSQLite = %v, want ErrNotDatabase", name, err)
		}
		if got, _ := os.ReadFile(path); !bytes.Equal(got, content) {
			t.Errorf("%s: the file was changed by the failed open", name)
		}
		for _, extra := range []string{"-wal", "-shm", "-journal"} {
			if _, err := os.Stat(path + extra); err == nil {
				t.Errorf("%s: the failed open left %s behind", name, extra)
			}
		}
	}
	// An empty file is a database SQLite is happy to start.
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)
	s, err := OpenSQLite(context.Background(), empty)
	if err != nil {
		t.Fatalf("empty file: %v", err)
	}
	s.Close()
}

// TestSQLiteAddsBytesToAnOlderDatabase: a log written before steps had a
// byte count opens, keeps its steps, and takes new ones with bytes.
func TestSQLiteAddsBytesToAnOlderDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	old := strings.Replace(schema, ",\n\tbytes   INTEGER NOT NULL DEFAULT 0", "", 1)
	if old == schema {
		t.Fatal("the test no longer knows how the schema declares bytes")
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.ExecContext(ctx, old+`
		INSERT INTO deployments VALUES (1, 'p', 'm', '', 'v1', 'c', '', 'done', '', 1, 2);
		INSERT INTO steps VALUES (1, 1, 'build', 'p', 'm', '', 'v1', 1, 2, '', 'ok');`)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.AddStep(ctx, &StepLog{DeploymentID: 1, Step: "download", Start: time.Now(), Bytes: 1234}); err != nil {
		t.Fatal(err)
	}
	d, err := s.Get(ctx, 1)
	if err != nil || len(d.Steps) != 2 || d.Steps[0].Output != "ok" || d.Steps[0].Bytes != 0 || d.Steps[1].Bytes != 1234 {
		t.Fatalf("after the upgrade: %+v, %v", d, err)
	}
}
