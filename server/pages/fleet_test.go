package pages

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/molt-go/update/agent/deploylog"
	"github.com/molt-go/update/internal/browser"
	"github.com/molt-go/update/server"
	"github.com/molt-go/update/server/collect"
	"github.com/molt-go/update/step"
)

// testFleet is hello's fleet at now: seven machines on 1.0.0 (m3, m4 and
// m5 failed the probe of 1.2.0, whose rollout the server halted), m8 and
// m9 on 1.1.0, rolled out to 10% with 50% to come, m9 labelled canary,
// which is pinned at 1.1.0, and m2 pinned at 1.0.0 by its install ID;
// 1.0.5 was withdrawn. A second app, tool, has a rollout and no machine.
func testFleet(t *testing.T, now time.Time) FleetOptions {
	t.Helper()
	f, tally := &collect.Fleet{}, &collect.Tally{}
	report := func(name string, s step.Name, from, to, failure string, labels ...string) {
		ev := collect.Event{App: "hello", Machine: name, InstallID: "id-" + name, Labels: labels, Step: s, From: from, To: to,
			Start: now.Add(-time.Minute), End: now.Add(-time.Minute), Error: failure}
		f.Add(ev)
		tally.Add(deploylog.StepLog{Project: "hello", Machine: name, Step: s, From: from, To: to, Error: failure}, now)
	}
	for i := 1; i <= 7; i++ {
		name := fmt.Sprintf("m%d", i)
		if i >= 3 && i <= 5 {
			report(name, step.Probe, "1.0.0", "1.2.0", "update: probe: the new binary says <script>9.9.9</script>")
		} else {
			report(name, step.Find, "1.0.0", "", "")
		}
	}
	report("m8", step.Restart, "1.0.0", "1.1.0", "")
	report("m9", step.Confirm, "1.0.0", "v1.1.0", "", "canary", "eu-west")

	ro := &server.Rollouts{}
	phases, err := server.ParsePhases("10%@0h,50%@24h", now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		ro.Set("hello", "1.1.0", 0, phases, now.Add(-time.Hour)),
		ro.Set("hello", "1.2.0", 100, nil, now.Add(-time.Hour)),
		ro.Abort("hello", "1.0.5", now.Add(-2*time.Hour)),
		ro.Pin("hello", "1.1.0", nil, []string{"canary"}),
		ro.Pin("hello", "1.0.0", []string{"id-m2"}, nil),
		ro.Set("tool", "2.0.0", 5, nil, now),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if !ro.Halt("hello", "1.2.0", "3 of 3 machines that tried it reported a failure", now.Add(-30*time.Second)) {
		t.Fatal("no halt")
	}
	return FleetOptions{Machines: f, Tally: tally, Rollouts: func() (*server.Rollouts, error) { return ro, nil }, now: func() time.Time { return now }}
}

func names(ms []MachineView) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Name)
	}
	return out
}

func TestFleetView(t *testing.T) {
	t.Parallel()
	now := time.Now()
	o := testFleet(t, now)
	ro, _ := o.Rollouts()
	v := view("hello", o.Machines.Machines("hello"), ro, o.Tally, now, filter{})

	if v.Total != 9 || len(v.Versions) != 2 || v.Versions[0] != (VersionCount{"1.1.0", 2, 100 * 2.0 / 9}) || v.Versions[1].Version != "1.0.0" || v.Versions[1].Machines != 7 {
		t.Errorf("versions: %d machines, %+v", v.Total, v.Versions)
	}
	var got []string
	for _, r := range v.Rollouts {
		got = append(got, r.Version)
	}
	if !slices.Equal(got, []string{"1.2.0", "1.1.0", "1.0.5"}) {
		t.Fatalf("rollouts %v, want newest first", got)
	}
	halted, staged, withdrawn := v.Rollouts[0], v.Rollouts[1], v.Rollouts[2]
	if !halted.Paused || halted.HaltedAt.IsZero() || halted.On != 0 || halted.Machines == nil || *halted.Machines != 3 || *halted.Failures != 3 {
		t.Errorf("the halted rollout: %+v (tried %v, failed %v)", halted, halted.Machines, halted.Failures)
	}
	if staged.Percent != 10 || staged.Phase != 1 || staged.Phases != 2 || staged.Next == nil || staged.Next.Percent != 50 || staged.On != 2 || *staged.Machines != 2 || *staged.Failures != 0 {
		t.Errorf("the staged rollout: %+v", staged)
	}
	if !withdrawn.Withdrawn || withdrawn.Percent != 0 {
		t.Errorf("the withdrawn release: %+v", withdrawn)
	}
	if len(v.Halts) != 1 || v.Halts[0].Version != "1.2.0" || !strings.Contains(v.Halts[0].Reason, "3 of 3") {
		t.Errorf("halts: %+v", v.Halts)
	}

	// Failures first, then by name; pins by label and by install ID.
	if got, want := names(v.Machines), []string{"m3", "m4", "m5", "m1", "m2", "m6", "m7", "m8", "m9"}; !slices.Equal(got, want) {
		t.Errorf("machines %v, want %v", got, want)
	}
	pins := map[string]string{}
	for _, m := range v.Machines {
		pins[m.Name] = m.Pinned
	}
	if pins["m9"] != "1.1.0" || pins["m2"] != "1.0.0" || pins["m1"] != "" || pins["m8"] != "" {
		t.Errorf("pinned: %v", pins)
	}

	// Filters and the limit narrow the list, never the counts.
	for _, tc := range []struct {
		f             filter
		matched, rows int
	}{
		{filter{version: "1.1.0"}, 2, 2},
		{filter{label: "canary"}, 1, 1},
		{filter{version: "1.0.0", label: "canary"}, 0, 0},
		{filter{limit: 4}, 9, 4},
	} {
		v := view("hello", o.Machines.Machines("hello"), ro, o.Tally, now, tc.f)
		if v.Matched != tc.matched || v.Shown != tc.rows || len(v.Machines) != tc.rows || v.Total != 9 {
			t.Errorf("%+v: %d matched, %d shown of %d, want %d and %d", tc.f, v.Matched, v.Shown, v.Total, tc.matched, tc.rows)
		}
	}
}

func TestFleetJSON(t *testing.T) {
	t.Parallel()
	h := Fleet(testFleet(t, time.Now()))
	code, body := get(t, h, "/api/fleet")
	var apps []AppSummary
	if err := json.Unmarshal([]byte(body), &apps); err != nil || code != 200 {
		t.Fatalf("/api/fleet: %d %v\n%s", code, err, body)
	}
	if len(apps) != 2 || apps[0].App != "hello" || apps[0].Total != 9 || len(apps[0].Halts) != 1 || apps[1].App != "tool" || apps[1].Total != 0 || len(apps[1].Rollouts) != 1 {
		t.Errorf("/api/fleet = %+v", apps)
	}
	if strings.Contains(body, `"machines": [`) {
		t.Error("/api/fleet lists machines")
	}

	code, body = get(t, h, "/api/fleet/hello")
	var v struct {
		AppSummary
		Matched  int `json:"matched"`
		Shown    int `json:"shown"`
		Machines []struct {
			Machine   string   `json:"machine"`
			Version   string   `json:"version"`
			InstallID string   `json:"install_id"`
			Labels    []string `json:"labels"`
			Pinned    string   `json:"pinned"`
			Last      struct {
				Step  string    `json:"step"`
				At    time.Time `json:"at"`
				Error string    `json:"error"`
			} `json:"last"`
		} `json:"machines"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil || code != 200 {
		t.Fatalf("/api/fleet/hello: %d %v\n%s", code, err, body)
	}
	if v.Total != 9 || v.Shown != 9 || len(v.Machines) != 9 || v.Rollouts[1].On != 2 || v.Rollouts[0].Failures == nil || *v.Rollouts[0].Failures != 3 {
		t.Errorf("/api/fleet/hello: %+v", v)
	}
	m9 := v.Machines[8]
	if m9.Machine != "m9" || m9.Version != "1.1.0" || m9.InstallID != "id-m9" || !slices.Equal(m9.Labels, []string{"canary", "eu-west"}) || m9.Pinned != "1.1.0" || m9.Last.Step != "confirm" || m9.Last.At.IsZero() {
		t.Errorf("m9 = %+v", m9)
	}
	if m3 := v.Machines[0]; m3.Machine != "m3" || !strings.Contains(m3.Last.Error, "9.9.9") {
		t.Errorf("first machine %+v, want m3 and its failed probe", m3)
	}
	if _, body := get(t, h, "/api/fleet/hello?version=v1.1.0&limit=1"); !strings.Contains(body, `"matched": 2`) || !strings.Contains(body, `"shown": 1`) {
		t.Errorf("?version=v1.1.0&limit=1:\n%s", body)
	}
	if code, _ := get(t, h, "/api/fleet/nothing"); code != http.StatusNotFound {
		t.Errorf("/api/fleet/nothing: %d, want 404", code)
	}
	if code, body := get(t, Fleet(FleetOptions{}), "/api/fleet"); code != 200 || strings.TrimSpace(body) != "[]" {
		t.Errorf("an empty fleet: %d %q, want []", code, body)
	}
	broken := FleetOptions{Rollouts: func() (*server.Rollouts, error) { return nil, server.ErrRolloutsFile }}
	if code, _ := get(t, Fleet(broken), "/api/fleet"); code != http.StatusInternalServerError {
		t.Errorf("a bad rollouts file: %d, want 500", code)
	}
}

// TestFleetPagesInBrowser loads the fleet pages in headless Chromium.
func TestFleetPagesInBrowser(t *testing.T) {
	t.Parallel()
	b := browser.Chromium{Path: browser.Need(t), Profile: t.TempDir()}
	srv := httptest.NewServer(Fleet(testFleet(t, time.Now())))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	dom, err := b.DumpDOM(ctx, srv.URL+"/fleet")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`id="halted"`, `data-app="hello" data-total="9"`, `data-app="tool" data-total="0"`,
		`data-version="1.1.0" data-machines="2"`, `data-version="1.0.0" data-machines="7"`, `href="/fleet/hello"`} {
		if !strings.Contains(dom, want) {
			t.Errorf("/fleet lacks %s\n%s", want, dom)
		}
	}

	dom, err = b.DumpDOM(ctx, srv.URL+"/fleet/hello")
	if err != nil {
		t.Fatal(err)
	}
	rows := regexp.MustCompile(`<tr class="machine( failed)?" data-machine="(\w+)" data-version="([\d.]+)"`).FindAllStringSubmatch(dom, -1)
	var got []string
	for _, r := range rows {
		got = append(got, r[2]+":"+r[3]+strings.TrimPrefix(r[1], " "))
	}
	want := "m3:1.0.0failed m4:1.0.0failed m5:1.0.0failed m1:1.0.0 m2:1.0.0 m6:1.0.0 m7:1.0.0 m8:1.1.0 m9:1.1.0"
	if strings.Join(got, " ") != want {
		t.Errorf("machine rows %v, want %s", got, want)
	}
	for _, want := range []string{
		`<tr class="rollout failed" data-version="1.2.0" data-running="0" data-tried="3" data-failed="3">`,
		`<tr class="rollout" data-version="1.1.0" data-running="2" data-tried="2" data-failed="0">`,
		`class="banner error halt" data-version="1.2.0"`, "3 of 3 machines",
		`<span class="pinned">at 1.1.0</span>`, `<span class="pinned">at 1.0.0</span>`, `>canary</a>, <a href="?label=eu-west">`, "1 of 2",
		"&lt;script&gt;9.9.9&lt;/script&gt;",
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("/fleet/hello lacks %s", want)
		}
	}
	if strings.Contains(dom, "<script>9.9.9") {
		t.Error("an error message was not escaped")
	}
	if t.Failed() {
		t.Logf("/fleet/hello:\n%s", dom)
	}
	shot := t.TempDir() + "/fleet.png"
	if d := os.Getenv("FLEET_SHOT"); d != "" {
		shot = d
	}
	if err := b.Screenshot(ctx, srv.URL+"/fleet/hello", shot); err != nil {
		t.Error(err)
	}
}

// TestFleetPageOfTenThousand: a fleet of 10,000 machines renders as one
// page of 200 rows, failures first, with counts of all of them.
func TestFleetPageOfTenThousand(t *testing.T) {
	t.Parallel()
	now := time.Now()
	f := &collect.Fleet{}
	for i := range 10_000 {
		ev := collect.Event{App: "hello", Machine: fmt.Sprintf("m%05d", i), Step: step.Find, From: "1.0.0", Start: now, End: now}
		if i%10 == 0 {
			ev.Step, ev.To = step.Restart, "1.1.0"
		}
		if i == 9_999 {
			ev.Step, ev.To, ev.Error = step.Download, "1.1.0", "connection reset"
		}
		f.Add(ev)
	}
	h := Fleet(FleetOptions{Machines: f})
	code, body := get(t, h, "/fleet/hello")
	rows := strings.Count(body, `<tr class="machine`)
	if code != 200 || rows != fleetRows || !strings.Contains(body, "Showing the first 200 of 10000") {
		t.Fatalf("/fleet/hello: %d, %d rows", code, rows)
	}
	if !strings.Contains(body, `data-version="1.1.0" data-machines="1000"`) || !strings.Contains(body, `data-version="1.0.0" data-machines="9000"`) {
		t.Error("the counts do not cover the whole fleet")
	}
	if i := strings.Index(body, `<tr class="machine`); !strings.HasPrefix(body[i:], `<tr class="machine failed" data-machine="m09999"`) {
		t.Errorf("the first row is not the failed machine: %.100s", body[i:])
	}
	if _, body := get(t, h, "/fleet/hello?limit=300"); strings.Count(body, `<tr class="machine`) != 300 {
		t.Error("?limit=300 does not show 300 machines")
	}
	t.Logf("a page of %d rows of 10,000 machines: %d bytes", rows, len(body))
}
