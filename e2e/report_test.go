package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/molt-go/update/agent/deploylog"
	"github.com/molt-go/update/internal/browser"
)

// reportWait bounds each request to the server and each browser run.
const reportWait = 2 * time.Minute

// TestReportDeploymentsToPkgserver: the pkgserver binary serves a feed and
// keeps a deployment log (-db); hello reports its updates there (-report).
// A good update shows as one done deployment with every step in order; a
// release that cannot run (its probe fails) shows as a failed one with the
// error, in the JSON and on the page as Chromium renders it.
func TestReportDeploymentsToPkgserver(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	ps := startPkgserver(t, root, "-db", filepath.Join(root, "deployments.db"))
	releases, base := ps.releases, ps.base
	copyFile(t, program(t, helloPkg, "1.1.0"), filepath.Join(releases, platformName("hello", "1.1.0")), 0o755)

	target := filepath.Join(root, "hello"+exeSuffix())
	copyFile(t, program(t, helloPkg, "1.0.0"), target, 0o755)
	hello := func() (string, string) {
		return run(t, target, "-feed", base+"hello/", "-key", ps.pub,
			"-state", filepath.Join(root, "state"), "-report", base+"events")
	}

	out, errOut := hello()
	if strings.TrimSpace(out) != "hello 1.1.0" {
		t.Fatalf("hello printed %q, want hello 1.1.0\nstderr: %s", out, errOut)
	}
	ds := deployments(t, base)
	if len(ds) != 1 {
		t.Fatalf("%d deployments after one update, want 1: %+v", len(ds), ds)
	}
	d := ds[0]
	if d.Project != "hello" || d.Machine == "" || d.From != "1.0.0" || d.To != "1.1.0" || d.Status != deploylog.StatusDone || d.Error != "" {
		t.Errorf("deployment %+v, want hello on a named machine from 1.0.0 to 1.1.0, done", d)
	}
	// The steps of the old process, then the new one's confirm.
	if got, want := strings.Join(steps(d), ","), "find,download,verify,probe,apply,restart,confirm"; got != want {
		t.Errorf("steps %s, want %s", got, want)
	}
	for _, s := range d.Steps {
		if s.Project != "hello" || s.Machine != d.Machine || s.Failed() || s.Start.IsZero() || s.End.Before(s.Start) {
			t.Errorf("step %+v", s)
		}
		if s.Step == "download" && s.Bytes == 0 {
			t.Errorf("the download step says no bytes were moved")
		}
	}

	// A 1.2.0 that is not a program: verified (the feed signs whatever is
	// published), but its probe fails and it is refused.
	if err := os.WriteFile(filepath.Join(releases, platformName("hello", "1.2.0")), []byte("this is not a program\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, errOut = hello()
	if strings.TrimSpace(out) != "hello 1.1.0" || !strings.Contains(errOut, "update failed") {
		t.Fatalf("hello printed %q, want hello 1.1.0 after a refused update\nstderr: %s", out, errOut)
	}
	ds = deployments(t, base)
	if len(ds) != 2 {
		t.Fatalf("%d deployments after a refused update, want 2: %+v", len(ds), ds)
	}
	f := ds[0]
	if f.From != "1.1.0" || f.To != "1.2.0" || f.Status != deploylog.StatusFailed || !strings.Contains(f.Error, "probe") {
		t.Errorf("refused deployment %+v, want 1.1.0 to 1.2.0, failed in its probe", f)
	}
	if got, want := strings.Join(steps(f), ","), "find,download,verify,probe"; got != want {
		t.Errorf("refused deployment's steps %s, want %s", got, want)
	}
	if last := f.Steps[len(f.Steps)-1]; !last.Failed() || last.Error != f.Error {
		t.Errorf("the probe step %+v does not carry the deployment's error %q", last, f.Error)
	}

	checkReportPages(t, base, f.ID)
}

// deployments reads the server's deployment log as JSON.
func deployments(t *testing.T, base string) []deploylog.Deployment {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), reportWait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"api/deployments", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ds []deploylog.Deployment
	if err := json.NewDecoder(resp.Body).Decode(&ds); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/deployments: %s, %v", resp.Status, err)
	}
	return ds
}

// checkReportPages loads the deployment log and the failed deployment in
// headless Chromium and checks what it rendered.
func checkReportPages(t *testing.T, base string, failedID int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), reportWait)
	defer cancel()
	exe := browser.Need(t)
	b := browser.Chromium{Path: exe, Profile: t.TempDir()}
	dom, err := b.DumpDOM(ctx, base+"deployments")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range regexp.MustCompile(`<tr class="deployment (\w+)" data-id="(\d+)"`).FindAllStringSubmatch(dom, -1) {
		got = append(got, m[2]+":"+m[1])
	}
	if want := fmt.Sprintf("%d:failed,%d:done", failedID, failedID-1); strings.Join(got, ",") != want {
		t.Errorf("the page lists %v, want %s\n%s", got, want, dom)
	}
	for _, want := range []string{`<span class="step failed" data-step="probe">`, `data-step="confirm"`, "✗ failed", "✓ done", "1.2.0", "hello"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	one, err := b.DumpDOM(ctx, fmt.Sprintf("%sdeployments/%d", base, failedID))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(one, `<tr class="step failed" data-step="probe">`) || !strings.Contains(one, `class="bytes"`) {
		t.Errorf("the failed deployment's page does not show its failed probe and its download's size:\n%s", one)
	}
}
