package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/molt-go/update/agent/deploylog"
	"github.com/molt-go/update/agent/deploylog/pgtest"
	"github.com/molt-go/update/report"
)

// TestPkgserverPostgresLog: pkgserver serve -db postgres://... takes the
// events two machines report (one update done, one failed in its probe)
// into a real PostgreSQL server, and pkgserver rollout status -db with the
// same URL counts them. A second server started on the same database
// shows the same log: it lives in PostgreSQL, not in the process.
func TestPkgserverPostgresLog(t *testing.T) {
	t.Parallel()
	pg := pgtest.Start(t)
	db := pg.NewDatabase(t)
	root := t.TempDir()
	ps := startPkgserver(t, root, "-db", db)
	// Any bytes: the feed signs whatever is published, and no machine here
	// downloads it.
	if err := os.WriteFile(filepath.Join(ps.releases, platformName("hello", "1.1.0")), []byte("hello 1.1.0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	pkgserver := program(t, pkgserverPkg, "0.0.0")
	run(t, pkgserver, "rollout", "set", "-dir", ps.releases, "-key", filepath.Join(root, "keys", "update.key"),
		"-app", "hello", "-version", "1.1.0", "-percent", "50")

	t0 := time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	good := []report.Event{
		{Step: "find", Start: at(0), End: at(1)},
		{Step: "download", Start: at(1), End: at(2), Bytes: 4096},
		{Step: "verify", Start: at(2), End: at(3)},
		{Step: "probe", Start: at(3), End: at(4)},
		{Step: "apply", Start: at(4), End: at(5)},
		{Step: "restart", Start: at(5), End: at(6)},
	}
	bad := []report.Event{
		{Step: "find", Start: at(0), End: at(1)},
		{Step: "download", Start: at(1), End: at(2), Bytes: 4096},
		{Step: "verify", Start: at(2), End: at(3)},
		{Step: "probe", Start: at(3), End: at(4), Error: "probe: exit status 2"},
	}
	for machine, evs := range map[string][]report.Event{"m-good": good, "m-bad": bad} {
		for _, ev := range evs {
			ev.App, ev.Machine, ev.From, ev.To, ev.Labels = "hello", machine, "1.0.0", "1.1.0", []string{"eu-west", machine}
			postEventTo(t, ps.base, ev)
		}
	}

	st := rolloutStatusWithDB(t, pkgserver, ps.releases, db)
	if len(st.Rollouts) != 1 || st.Rollouts[0].Version != "1.1.0" {
		t.Fatalf("rollout status -db %s: %+v", db, st)
	}
	if r := st.Rollouts[0]; r.Machines == nil || r.Failures == nil || *r.Machines != 2 || *r.Failures != 1 || r.Paused {
		t.Errorf("rollout status counts machines %v, failures %v, paused %v; want 2, 1, not paused", r.Machines, r.Failures, r.Paused)
	}

	check := func(who, base string) {
		t.Helper()
		ds := deployments(t, base)
		if len(ds) != 2 {
			t.Fatalf("%s: %d deployments, want 2: %+v", who, len(ds), ds)
		}
		for _, d := range ds {
			want, status := good, deploylog.StatusDone
			if d.Machine == "m-bad" {
				want, status = bad, deploylog.StatusFailed
			}
			if d.Project != "hello" || d.Status != status || d.From != "1.0.0" || d.To != "1.1.0" || !slices.Equal(d.Labels, []string{"eu-west", d.Machine}) || len(d.Steps) != len(want) {
				t.Errorf("%s: deployment %+v", who, d)
				continue
			}
			for i, s := range d.Steps {
				if string(s.Step) != string(want[i].Step) || !s.Start.Equal(want[i].Start) || !s.End.Equal(want[i].End) || s.Bytes != want[i].Bytes || s.Error != want[i].Error {
					t.Errorf("%s: %s step %d: %+v, want %+v", who, d.Machine, i, s, want[i])
				}
			}
		}
	}
	check("the server that took the events", ps.base)
	other := startPkgserver(t, t.TempDir(), "-db", db)
	check("a second server on the same database", other.base)
}

// postEventTo posts ev to the server's collector, which must keep it.
func postEventTo(t *testing.T, base string, ev report.Event) {
	t.Helper()
	body, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), reportWait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"events", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST /events %s: %s", body, resp.Status)
	}
}

// rolloutStatusWithDB runs pkgserver rollout status for hello with -db db.
func rolloutStatusWithDB(t *testing.T, pkgserver, releases, db string) rolloutStatus {
	t.Helper()
	out, _ := run(t, pkgserver, "rollout", "status", "-dir", releases, "-app", "hello", "-db", db)
	var st rolloutStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("rollout status printed %q: %v", out, err)
	}
	return st
}
