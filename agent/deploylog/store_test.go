package deploylog_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/molt-go/update/agent/deploylog"
	"github.com/molt-go/update/agent/deploylog/logtest"
)

func TestStoreRoundTrip(t *testing.T) {
	t.Parallel()
	for name, s := range logtest.Stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			t0 := time.Date(2026, 3, 4, 5, 6, 7, 890, time.UTC)
			d1 := &deploylog.Deployment{Project: "app", Machine: "m1", From: "", To: "v0.0.0-x", Commit: "c1", Status: deploylog.StatusRunning, Start: t0}
			if err := s.Create(ctx, d1); err != nil || d1.ID == 0 {
				t.Fatalf("Create: %v, id %d", err, d1.ID)
			}
			st := &deploylog.StepLog{DeploymentID: d1.ID, Step: deploylog.StepBuild, Project: "app", Machine: "m1", To: "v0.0.0-x", Start: t0}
			if err := s.AddStep(ctx, st); err != nil || st.ID == 0 {
				t.Fatalf("AddStep: %v, id %d", err, st.ID)
			}
			st.End, st.Error, st.Output = t0.Add(time.Second), "exit status 1", "main.go:3: syntax error\n"
			if err := s.UpdateStep(ctx, st); err != nil {
				t.Fatal(err)
			}
			d1.Status, d1.End, d1.Error = deploylog.StatusFailed, t0.Add(2*time.Second), "build failed"
			if err := s.Update(ctx, d1); err != nil {
				t.Fatal(err)
			}
			d2 := &deploylog.Deployment{Project: "app", Machine: "m1", From: "v0", To: "v1", Status: deploylog.StatusDone, Start: t0.Add(time.Minute)}
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
			if gs := got.Steps[0]; gs.Output != st.Output || gs.Error != st.Error || !gs.End.Equal(st.End) || gs.Step != deploylog.StepBuild || !gs.Failed() {
				t.Errorf("listed step %+v", gs)
			}
			if one, _ := s.List(ctx, 1); len(one) != 1 || one[0].ID != d2.ID {
				t.Errorf("List(1) = %+v", one)
			}
			g, err := s.Get(ctx, d1.ID)
			if err != nil || g.Commit != "c1" || len(g.Steps) != 1 {
				t.Errorf("Get = %+v, %v", g, err)
			}
			if _, err := s.Get(ctx, 999); !errors.Is(err, deploylog.ErrNotFound) {
				t.Errorf("Get(999) = %v, want ErrNotFound", err)
			}
			if err := s.Update(ctx, &deploylog.Deployment{ID: 999}); !errors.Is(err, deploylog.ErrNotFound) {
				t.Errorf("Update(999) = %v, want ErrNotFound", err)
			}
			if err := s.AddStep(ctx, &deploylog.StepLog{DeploymentID: 999}); !errors.Is(err, deploylog.ErrNotFound) {
				t.Errorf("AddStep to 999 = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestSQLiteKeepsAcrossOpens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "log.db")
	s, err := deploylog.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, &deploylog.Deployment{Project: "p", Status: deploylog.StatusDone, Start: time.Now()}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = deploylog.OpenSQLite(ctx, path)
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
		s, err := deploylog.OpenSQLite(context.Background(), path)
		if !errors.Is(err, deploylog.ErrNotDatabase) {
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
	s, err := deploylog.OpenSQLite(context.Background(), empty)
	if err != nil {
		t.Fatalf("empty file: %v", err)
	}
	s.Close()
}

// TestSQLiteAddsBytesToAnOlderDatabase: a log written before steps had a
// byte count opens, keeps its steps, and takes new ones with bytes.
