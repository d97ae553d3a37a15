package pages

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/molt-go/update/agent/deploylog"
)

// seeded is a store with a done deployment and a failed one after it.
func seeded(t *testing.T) *deploylog.MemoryStore {
	t.Helper()
	ctx := context.Background()
	s := &deploylog.MemoryStore{}
	t0 := time.Now().Add(-time.Hour)
	d1 := &deploylog.Deployment{Project: "app", Machine: "m", To: "v1.0.0", Commit: "aaaa", Status: deploylog.StatusDone, Start: t0, End: t0.Add(time.Second)}
	d2 := &deploylog.Deployment{Project: "app", Machine: "m", From: "v1.0.0", To: "v1.0.1-0.20260101000000-abcdefabcdef", Commit: "bbbb", Status: deploylog.StatusFailed, Error: "build failed <script>", Start: t0.Add(time.Minute), End: t0.Add(2 * time.Minute)}
	for _, d := range []*deploylog.Deployment{d1, d2} {
		s.Create(ctx, d)
		for _, step := range []deploylog.Step{deploylog.StepDetect, deploylog.StepFetch, deploylog.StepBuild} {
			st := &deploylog.StepLog{DeploymentID: d.ID, Step: step, Start: d.Start, End: d.End}
			if d.Failed() && step == deploylog.StepBuild {
				st.Error, st.Output = "exit status 1", "./main.go:3:1: syntax error & <oops>\n"
			}
			s.AddStep(ctx, st)
		}
		last := deploylog.StepDone
		if d.Failed() {
			last = deploylog.StepFailed
		}
		s.AddStep(ctx, &deploylog.StepLog{DeploymentID: d.ID, Step: last, Start: d.End, End: d.End})
	}
	return s
}

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b)
}

func TestPages(t *testing.T) {
	t.Parallel()
	h := Handler(seeded(t))

	code, body := get(t, h, "/deployments")
	rows := regexp.MustCompile(`<tr class="deployment (\w+)" data-id="(\d+)"`).FindAllStringSubmatch(body, -1)
	if code != 200 || len(rows) != 2 || rows[0][2] != "2" || rows[0][1] != "failed" || rows[1][1] != "done" {
		t.Fatalf("/deployments: %d, rows %v\n%s", code, rows, body)
	}
	if strings.Contains(body, "<script>\"") || strings.Contains(body, "build failed <script>") {
		t.Error("an error message was not escaped")
	}
	if n := strings.Count(body, `data-step="build"`); n != 2 {
		t.Errorf("%d build steps shown, want 2", n)
	}

	code, body = get(t, h, "/deployments/2")
	if code != 200 || !strings.Contains(body, `<tr class="step failed" data-step="build">`) || !strings.Contains(body, "syntax error &amp; &lt;oops&gt;") {
		t.Errorf("/deployments/2: %d\n%s", code, body)
	}
	if code, _ := get(t, h, "/deployments/77"); code != http.StatusNotFound {
		t.Errorf("/deployments/77: %d, want 404", code)
	}
	if code, _ := get(t, h, "/deployments/x"); code != http.StatusBadRequest {
		t.Errorf("/deployments/x: %d, want 400", code)
	}
	if code, _ := get(t, h, "/"); code != http.StatusSeeOther {
		t.Errorf("/: %d, want a redirect", code)
	}
}

func TestJSON(t *testing.T) {
	t.Parallel()
	h := Handler(seeded(t))
	code, body := get(t, h, "/api/deployments")
	var ds []deploylog.Deployment
	if err := json.Unmarshal([]byte(body), &ds); err != nil || code != 200 {
		t.Fatalf("/api/deployments: %d %v\n%s", code, err, body)
	}
	if len(ds) != 2 || ds[0].ID != 2 || ds[0].Status != deploylog.StatusFailed || len(ds[0].Steps) != 4 || ds[0].Steps[2].Output == "" {
		t.Errorf("/api/deployments = %+v", ds)
	}
	code, body = get(t, h, "/api/deployments?limit=1")
	if json.Unmarshal([]byte(body), &ds); code != 200 || len(ds) != 1 {
		t.Errorf("?limit=1 gave %d deployments", len(ds))
	}
	var d deploylog.Deployment
	code, body = get(t, h, "/api/deployments/1")
	if err := json.Unmarshal([]byte(body), &d); err != nil || d.ID != 1 || d.To != "v1.0.0" || d.Steps[3].Step != deploylog.StepDone {
		t.Errorf("/api/deployments/1: %d %+v %v", code, d, err)
	}
	if code, _ := get(t, h, "/api/deployments/5"); code != http.StatusNotFound {
		t.Errorf("/api/deployments/5: %d, want 404", code)
	}
	if code, body := get(t, Handler(&deploylog.MemoryStore{}), "/api/deployments"); code != 200 || strings.TrimSpace(body) != "[]" {
		t.Errorf("empty list: %d %q, want []", code, body)
	}
}

// TestAgentStatus shows an agent's last look at its branch above the list.
func TestAgentStatus(t *testing.T) {
	t.Parallel()
	h := New(&deploylog.MemoryStore{}, func() deploylog.CheckStatus {
		return deploylog.CheckStatus{Head: "0123456789abcdef", Version: "v1.2.0"}
	})
	code, body := get(t, h, "/deployments")
	if code != 200 || !strings.Contains(body, "No deployments yet") || !strings.Contains(body, `id="status"`) || !strings.Contains(body, "v1.2.0") {
		t.Errorf("/deployments = %d\n%s", code, body)
	}
	if _, body := get(t, Handler(&deploylog.MemoryStore{}), "/deployments"); strings.Contains(body, `id="status"`) {
		t.Error("a log without an agent shows an agent status")
	}
}
