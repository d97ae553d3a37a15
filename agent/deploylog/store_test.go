package deploylog_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
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
			labels := []string{"eu-west", "canary"}
			d1 := &deploylog.Deployment{Project: "app", Machine: "m1", Labels: labels, From: "", To: "v0.0.0-x", Commit: "c1", Status: deploylog.StatusRunning, Start: t0}
			if err := s.Create(ctx, d1); err != nil || d1.ID == 0 {
				t.Fatalf("Create: %v, id %d", err, d1.ID)
			}
			labels[0] = "changed by the caller after Create" // the store keeps its own copy
			if g, err := s.Get(ctx, d1.ID); err != nil || !slices.Equal(g.Labels, []string{"eu-west", "canary"}) {
				t.Fatalf("Get after Create: labels %q, %v", g.Labels, err)
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
			d1.Labels = []string{"eu-west", "ring 2", `quote"comma,brace{}`}
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
			// To the nanosecond, as a time the caller made.
			if got.Start.Nanosecond() != 890 || got.End.Nanosecond() != 890 {
				t.Errorf("times lost their nanoseconds: %v, %v", got.Start, got.End)
			}
			if !slices.Equal(got.Labels, d1.Labels) {
				t.Errorf("labels %q after Update, want %q", got.Labels, d1.Labels)
			}
			if all[0].Labels != nil || !all[0].End.IsZero() {
				t.Errorf("a deployment with no labels and no end listed as labels %q, end %v", all[0].Labels, all[0].End)
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
			if err := s.UpdateStep(ctx, &deploylog.StepLog{ID: 999, DeploymentID: d1.ID}); !errors.Is(err, deploylog.ErrNotFound) {
				t.Errorf("UpdateStep(999) = %v, want ErrNotFound", err)
			}
		})
	}
}

// TestStoreListOrderAndLimit: List gives the newest first, as many as
// asked (all for 0 or less), each with its own steps in the order added
// however the steps of several deployments interleave.
func TestStoreListOrderAndLimit(t *testing.T) {
	t.Parallel()
	for name, s := range logtest.Stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			t0 := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
			var ids []int64
			for i := range 5 {
				d := &deploylog.Deployment{Project: "p", Machine: fmt.Sprintf("m%d", i), To: fmt.Sprint(i), Status: deploylog.StatusRunning, Start: t0.Add(time.Duration(i) * time.Second)}
				if err := s.Create(ctx, d); err != nil {
					t.Fatal(err)
				}
				if len(ids) > 0 && d.ID <= ids[len(ids)-1] {
					t.Fatalf("IDs %v then %d: not increasing", ids, d.ID)
				}
				ids = append(ids, d.ID)
			}
			// Steps round-robin over the deployments, three each.
			for round := range 3 {
				for i, id := range ids {
					st := &deploylog.StepLog{DeploymentID: id, Step: deploylog.Step(fmt.Sprintf("s%d", round)), Machine: fmt.Sprintf("m%d", i),
						Start: t0, End: t0.Add(time.Duration(round+1) * time.Millisecond), Bytes: int64(100*i + round)}
					if err := s.AddStep(ctx, st); err != nil {
						t.Fatal(err)
					}
				}
			}
			for _, limit := range []int{0, -1, 1, 2, 5, 10} {
				got, err := s.List(ctx, limit)
				if err != nil {
					t.Fatal(err)
				}
				want := len(ids)
				if limit > 0 && limit < want {
					want = limit
				}
				if len(got) != want {
					t.Fatalf("List(%d): %d deployments, want %d", limit, len(got), want)
				}
				for k, d := range got {
					i := len(ids) - 1 - k
					if d.ID != ids[i] || d.Machine != fmt.Sprintf("m%d", i) {
						t.Fatalf("List(%d)[%d] = deployment %d of %s, want %d: not newest first", limit, k, d.ID, d.Machine, ids[i])
					}
					if logtest.StepNames(&d) != "s0,s1,s2" {
						t.Errorf("List(%d): deployment %d has steps %s", limit, d.ID, logtest.StepNames(&d))
					}
					for r, st := range d.Steps {
						if st.DeploymentID != d.ID || st.Machine != d.Machine || st.Bytes != int64(100*i+r) || st.Duration() != time.Duration(r+1)*time.Millisecond {
							t.Errorf("deployment %d, step %d: %+v", d.ID, r, st)
						}
					}
				}
			}
			if g, err := s.Get(ctx, ids[2]); err != nil || logtest.StepNames(g) != "s0,s1,s2" || g.Steps[1].Bytes != 201 {
				t.Errorf("Get = %+v, %v", g, err)
			}
		})
	}
}

// TestStoreKeepsAnyBytes: a build's output is whatever the compiler
// printed, NUL and invalid UTF-8 included, and comes back byte for byte;
// other fields with such bytes are taken too (PostgreSQL's text takes
// neither: it keeps U+FFFD in their place).
func TestStoreKeepsAnyBytes(t *testing.T) {
	t.Parallel()
	const odd = "ok\x00\xff\xfe tail \u00e9\n"
	for name, s := range logtest.Stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			d := &deploylog.Deployment{Project: "p" + odd, Machine: "m", Labels: []string{odd}, Error: odd, Status: deploylog.StatusFailed, Start: time.Now()}
			if err := s.Create(ctx, d); err != nil {
				t.Fatal(err)
			}
			st := &deploylog.StepLog{DeploymentID: d.ID, Step: deploylog.StepBuild, Start: time.Now(), Output: odd, Error: odd}
			if err := s.AddStep(ctx, st); err != nil {
				t.Fatal(err)
			}
			st.Output += odd
			if err := s.UpdateStep(ctx, st); err != nil {
				t.Fatal(err)
			}
			g, err := s.Get(ctx, d.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(g.Steps) != 1 || g.Steps[0].Output != odd+odd {
				t.Fatalf("output %q, want %q", g.Steps[0].Output, odd+odd)
			}
			if len(g.Labels) != 1 || g.Error == "" || g.Steps[0].Error == "" || g.Project[0] != 'p' {
				t.Errorf("read back %+v", g)
			}
		})
	}
}

// TestStoreConcurrentWriters: writers at once (the collector takes events
// from many machines) get distinct IDs and lose no row.
func TestStoreConcurrentWriters(t *testing.T) {
	t.Parallel()
	const writers, each = 8, 10
	for name, s := range logtest.Stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			var wg sync.WaitGroup
			errs := make(chan error, writers)
			for w := range writers {
				wg.Go(func() {
					for i := range each {
						d := &deploylog.Deployment{Project: "p", Machine: fmt.Sprintf("w%d", w), To: fmt.Sprint(i), Status: deploylog.StatusDone, Start: time.Now()}
						if err := s.Create(ctx, d); err != nil {
							errs <- err
							return
						}
						if err := s.AddStep(ctx, &deploylog.StepLog{DeploymentID: d.ID, Step: deploylog.StepDone, Machine: d.Machine, To: d.To, Start: d.Start}); err != nil {
							errs <- err
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			all, err := s.List(ctx, 0)
			if err != nil || len(all) != writers*each {
				t.Fatalf("List: %d deployments, %v; want %d", len(all), err, writers*each)
			}
			seen := map[int64]bool{}
			for _, d := range all {
				if seen[d.ID] || len(d.Steps) != 1 || d.Steps[0].Machine != d.Machine || d.Steps[0].To != d.To {
					t.Errorf("deployment %+v: a repeated ID or someone else's step", d)
				}
				seen[d.ID] = true
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
