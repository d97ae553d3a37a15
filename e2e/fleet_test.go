package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The fleet tests run many installations of hello on this one machine:
// each is a folder with its own hello (a hard link of one copy until an
// update replaces it) and its own state directory, so its own install ID
// and place in every rollout; -machine names it in reports. A check of
// the fleet runs every hello once, a few at a time.

// fleetParallel bounds how many hellos run at once.
var fleetParallel = 2 * runtime.NumCPU()

// installation is one machine of a fleet.
type installation struct {
	name   string
	target string // its hello
	state  string // its state directory
	labels string // for -labels
	stderr string // what its last run printed there, to say why
}

// fleet is a pkgserver whose request log counts the downloads, and
// machines.
type fleet struct {
	t         *testing.T
	root      string
	ps        *pkgserverProc
	key       string // the pkgserver's private key
	pkgserver string // the pkgserver binary
	base      string // where the machines find the feed: the pkgserver, or a static host
	tmp       string // TMPDIR of the hellos, where their locks go
	report    bool   // machines report to /events

	mu   sync.Mutex
	gets map[string]int // successful GETs by path
	ms   []*installation
}

// newFleet starts pkgserver serve (with extra flags) and installs n
// hellos at 1.0.0.
func newFleet(t *testing.T, n int, extra ...string) *fleet {
	t.Helper()
	root := t.TempDir()
	f := &fleet{t: t, root: root, gets: map[string]int{}, tmp: filepath.Join(root, "tmp")}
	f.pkgserver = program(t, pkgserverPkg, "0.0.0")
	// No binary patches: making them between two 40 MB builds of hello
	// takes longer than the whole fleet's updates, and patches are not
	// what these tests are about.
	f.ps = f.serve(append([]string{"-patches", "0"}, extra...)...)
	f.key = filepath.Join(root, "keys", "update.key")
	f.base = f.ps.base
	if err := os.MkdirAll(f.tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	// One copy of 1.0.0 per fleet: the machines' files are links to it
	// until an update renames a new file over theirs.
	first := filepath.Join(root, "hello-1.0.0"+exeSuffix())
	copyFile(t, program(t, helloPkg, "1.0.0"), first, 0o755)
	for i := range n {
		m := &installation{name: fmt.Sprintf("m%03d", i)}
		dir := filepath.Join(root, "fleet", m.name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		m.target, m.state = filepath.Join(dir, "hello"+exeSuffix()), filepath.Join(dir, "state")
		if err := os.Link(first, m.target); err != nil {
			copyFile(t, first, m.target, 0o755)
		}
		f.ms = append(f.ms, m)
	}
	return f
}

func (f *fleet) count(path string) {
	f.mu.Lock()
	f.gets[path]++
	f.mu.Unlock()
}

// downloads is how many times the asset of hello at version was fetched.
func (f *fleet) downloads(version string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gets["/hello/"+platformName("hello", version)]
}

// serve is startPkgserver with the request log read: each GET answered
// 200 or 206 is counted by path. Counting there keeps the bytes of the
// downloads out of this process, which runs under the race detector.
func (f *fleet) serve(extra ...string) *pkgserverProc {
	t := f.t
	t.Helper()
	keyDir := filepath.Join(f.root, "keys")
	ps := &pkgserverProc{releases: filepath.Join(f.root, "releases"), pub: filepath.Join(keyDir, "update.pub")}
	run(t, f.pkgserver, "keygen", "-out", keyDir)
	if err := os.MkdirAll(ps.releases, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	args := append([]string{"serve", "-dir", ps.releases, "-addr", "127.0.0.1:0", "-key", filepath.Join(keyDir, "update.key")}, extra...)
	srv := exec.CommandContext(ctx, f.pkgserver, args...)
	logs, err := srv.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan string, 1)
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); srv.Wait(); <-done })
	request := regexp.MustCompile(`msg="feed: request" method=GET path=(\S+) status=(200|206) `)
	go func() {
		defer close(done)
		sc := bufio.NewScanner(logs)
		for sc.Scan() {
			line := sc.Text()
			if m := request.FindStringSubmatch(line); m != nil {
				f.count(m[1])
			} else if m := regexp.MustCompile(`url=(http://[^ ]+)`).FindStringSubmatch(line); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case ps.base = <-found:
	case <-time.After(30 * time.Second):
		t.Fatal("pkgserver did not say where it serves")
	}
	return ps
}

// countingProxy forwards to base and calls count with the path of each
// GET answered 200 or 206.
func countingProxy(t *testing.T, base string, count func(string)) *httptest.Server {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(r *http.Response) error {
		if r.Request.Method == http.MethodGet && (r.StatusCode == http.StatusOK || r.StatusCode == http.StatusPartialContent) {
			count(r.Request.URL.Path)
		}
		return nil
	}
	s := httptest.NewServer(rp)
	t.Cleanup(s.Close)
	return s
}

// publish puts the hello built as built into the folder as version.
func (f *fleet) publish(version, built string) {
	f.t.Helper()
	copyFile(f.t, program(f.t, helloPkg, built), filepath.Join(f.ps.releases, platformName("hello", version)), 0o755)
}

// cmd runs pkgserver with args and returns its stdout.
func (f *fleet) cmd(args ...string) string {
	f.t.Helper()
	out, _ := run(f.t, f.pkgserver, args...)
	return out
}

// rollout runs pkgserver rollout VERB for hello at version.
func (f *fleet) rollout(verb, version string, args ...string) string {
	f.t.Helper()
	return f.cmd(append([]string{"rollout", verb, "-dir", f.ps.releases, "-key", f.key, "-app", "hello", "-version", version}, args...)...)
}

// rolloutStatus is what pkgserver rollout status prints.
type rolloutStatus struct {
	App      string `json:"app"`
	Rollouts []struct {
		Version  string  `json:"version"`
		Percent  float64 `json:"percent"`
		Phase    int     `json:"phase"`
		Phases   int     `json:"phases"`
		Paused   bool    `json:"paused"`
		HaltedAt string  `json:"halted_at"`
		Reason   string  `json:"reason"`
		Next     *struct {
			Percent float64   `json:"percent"`
			Start   time.Time `json:"start"`
		} `json:"next"`
		Withdrawn bool `json:"withdrawn"`
		Machines  *int `json:"machines"`
		Failures  *int `json:"failures"`
	} `json:"rollouts"`
	Pins []struct {
		Version    string   `json:"version"`
		InstallIDs []string `json:"install_ids"`
		Labels     []string `json:"labels"`
	} `json:"pins"`
}

func (f *fleet) status(args ...string) rolloutStatus {
	f.t.Helper()
	out := f.cmd(append([]string{"rollout", "status", "-dir", f.ps.releases, "-app", "hello"}, args...)...)
	var st rolloutStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		f.t.Fatalf("rollout status printed %q: %v", out, err)
	}
	return st
}

// fleetView is what the server's fleet view says of hello
// (GET /api/fleet/hello).
type fleetView struct {
	Total    int `json:"total"`
	Versions []struct {
		Version  string `json:"version"`
		Machines int    `json:"machines"`
	} `json:"versions"`
	Rollouts []struct {
		Version  string  `json:"version"`
		Percent  float64 `json:"percent"`
		Paused   bool    `json:"paused"`
		Reason   string  `json:"reason"`
		On       int     `json:"on"`
		Machines *int    `json:"machines"`
		Failures *int    `json:"failures"`
	} `json:"rollouts"`
	Halts []struct {
		Version string `json:"version"`
		Reason  string `json:"reason"`
	} `json:"halts"`
	Machines []struct {
		Machine   string   `json:"machine"`
		Version   string   `json:"version"`
		InstallID string   `json:"install_id"`
		Labels    []string `json:"labels"`
		Last      struct {
			Step  string `json:"step"`
			Error string `json:"error"`
		} `json:"last"`
	} `json:"machines"`
}

func (f *fleet) view() fleetView {
	f.t.Helper()
	resp, err := http.Get(f.ps.base + "api/fleet/hello")
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var v fleetView
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&v); err != nil || resp.StatusCode != http.StatusOK {
		f.t.Fatalf("GET /api/fleet/hello: %s %v", resp.Status, err)
	}
	return v
}

// checkView checks that the fleet view has every machine on the version
// the test saw it greet with (versions, by machine), and counts them so.
func (f *fleet) checkView(versions []string) fleetView {
	f.t.Helper()
	v := f.view()
	want, got := map[string]string{}, map[string]string{}
	perVersion := map[string]int{}
	for i, m := range f.ms {
		want[m.name] = versions[i]
		perVersion[versions[i]]++
	}
	for _, m := range v.Machines {
		got[m.Machine] = m.Version
	}
	counts := map[string]int{}
	for _, c := range v.Versions {
		counts[c.Version] = c.Machines
	}
	if v.Total != len(f.ms) || len(got) != len(want) || fmt.Sprint(counts) != fmt.Sprint(perVersion) {
		f.t.Errorf("the fleet view counts %d machines, %v per version; want %d, %v", v.Total, counts, len(f.ms), perVersion)
	}
	for name, ver := range want {
		if got[name] != ver {
			f.t.Errorf("the fleet view has %s on %q; it greeted as %s", name, got[name], ver)
		}
	}
	return v
}

// check runs every machine's hello once, fleetParallel at a time, and
// returns the version each says it is after its update, by machine.
func (f *fleet) check() []string {
	f.t.Helper()
	t0 := time.Now()
	defer func() { f.t.Logf("check of %d machines: %v", len(f.ms), time.Since(t0)) }()
	got := make([]string, len(f.ms))
	errs := make([]error, len(f.ms))
	sem := make(chan struct{}, fleetParallel)
	var wg sync.WaitGroup
	for i, m := range f.ms {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			got[i], errs[i] = f.hello(m)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			f.t.Fatalf("%s: %v", f.ms[i].name, err)
		}
	}
	return got
}

// hello runs one machine's hello and returns the version it greets with.
func (f *fleet) hello(m *installation) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args := []string{"-feed", f.base + "hello/", "-key", f.ps.pub, "-state", m.state, "-machine", m.name}
	if f.report {
		args = append(args, "-report", f.base+"events")
	}
	if m.labels != "" {
		args = append(args, "-labels", m.labels)
	}
	cmd := exec.CommandContext(ctx, m.target, args...)
	cmd.Env = append(os.Environ(), "TMPDIR="+f.tmp)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	m.stderr = errb.String()
	if err != nil {
		return "", fmt.Errorf("%v\nstdout: %s\nstderr: %s", err, out.Bytes(), errb.Bytes())
	}
	v, ok := strings.CutPrefix(strings.TrimSpace(out.String()), "hello ")
	if !ok {
		return "", fmt.Errorf("printed %q\nstderr: %s", out.Bytes(), errb.Bytes())
	}
	return v, nil
}

// why is what the machines' last runs printed on stderr, for a message.
func (f *fleet) why(idx ...int) string {
	var b strings.Builder
	for _, i := range idx {
		fmt.Fprintf(&b, "\n%s:\n%s", f.ms[i].name, f.ms[i].stderr)
	}
	return b.String()
}

// seedInstallIDs gives every machine a fixed install ID, as if each had
// made its own at its first look, so that the fleet's fractions are the
// same at every run (these give 15 of 200 at 10% and 103 at 50%).
func (f *fleet) seedInstallIDs() {
	for i, m := range f.ms {
		sum := sha256.Sum256(fmt.Appendf(nil, "molt fleet test %d", i))
		state, _ := json.Marshal(map[string]string{"install_id": hex.EncodeToString(sum[:16])})
		if err := os.MkdirAll(m.state, 0o700); err != nil {
			f.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(m.state, "state.json"), state, 0o600); err != nil {
			f.t.Fatal(err)
		}
	}
}

// installID reads a machine's install ID from its state directory.
func (m *installation) installID(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(m.state, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		InstallID string `json:"install_id"`
	}
	if err := json.Unmarshal(data, &st); err != nil || st.InstallID == "" {
		t.Fatalf("%s: no install ID in its state (%v): %s", m.name, err, data)
	}
	return st.InstallID
}

// bucketOf is the client's rule (rollout.go, bucket), written again here
// so that the test checks which machines the rollout reached, not only
// how many.
func bucketOf(installID, app, version string) float64 {
	h := sha256.Sum256([]byte(installID + "\x00" + app + "\x00" + version))
	return float64(binary.BigEndian.Uint64(h[:8])>>11) / float64(1<<53) * 100
}

// on returns the indexes of the machines at version.
func on(versions []string, version string) []int {
	var out []int
	for i, v := range versions {
		if v == version {
			out = append(out, i)
		}
	}
	return out
}

// TestFleetRollout: 200 machines, a staged rollout at 10%, raised to 50%,
// paused, resumed, at 100%, then aborted. The same machines are offered
// the release at every check, each rise keeps them, and abort brings
// every machine back to the version it had.
func TestFleetRollout(t *testing.T) {
	t.Parallel()
	const n = 200
	// The machines report to the deployment log, and the fleet view is
	// checked against what they say; no automatic halt: the rollbacks of
	// the abort would otherwise count as failures.
	f := newFleet(t, n, "-db", filepath.Join(t.TempDir(), "deployments.db"), "-halt-min", "0")
	f.report = true
	f.seedInstallIDs()
	start := time.Now()
	// The rollout first, then the file: the release is never offered to
	// every machine, not even for a moment.
	if out := f.rollout("set", "1.1.0", "-percent", "10"); !strings.Contains(out, "hello 1.1.0: 10% of machines") {
		t.Errorf("rollout set printed %q", out)
	}
	f.publish("1.1.0", "1.1.0")

	versions := f.check()
	first := on(versions, "1.1.0")
	t.Logf("at 10%%: %d of %d machines updated (%.1f%%)", len(first), n, 100*float64(len(first))/n)
	if len(first) < n*5/100 || len(first) > n*15/100 {
		t.Fatalf("%d of %d machines took a release rolled out to 10%%", len(first), n)
	}
	if rest := on(versions, "1.0.0"); len(rest)+len(first) != n {
		t.Fatalf("machines at neither version: %v", versions)
	}
	ids := make([]string, n)
	for i, m := range f.ms {
		ids[i] = m.installID(t)
	}
	// Exactly the machines whose bucket is under the fraction.
	want := func(percent float64) []int {
		var out []int
		for i, id := range ids {
			if bucketOf(id, "hello", "1.1.0") < percent {
				out = append(out, i)
			}
		}
		return out
	}
	if !slices.Equal(first, want(10)) {
		t.Errorf("updated at 10%%: %v; the buckets under 10: %v", first, want(10))
	}
	if d := f.downloads("1.1.0"); d != len(first) {
		t.Errorf("%d downloads for %d updates", d, len(first))
	}
	// The server's fleet view has each machine where it is.
	if v := f.checkView(versions); len(v.Rollouts) != 1 || v.Rollouts[0].On != len(first) || v.Rollouts[0].Percent != 10 {
		t.Errorf("the fleet view's rollouts: %+v, want 1.1.0 at 10%% on %d machines", v.Rollouts, len(first))
	}

	// A second check: the same machines, no one else, no download again.
	if again := on(f.check(), "1.1.0"); !slices.Equal(again, first) {
		t.Errorf("the second check at 10%%: %v, the first: %v", again, first)
	}
	if d := f.downloads("1.1.0"); d != len(first) {
		t.Errorf("%d downloads after the second check, want %d", d, len(first))
	}

	// Raised to 50%: those and more.
	f.rollout("set", "1.1.0", "-percent", "50")
	half := on(f.check(), "1.1.0")
	t.Logf("at 50%%: %d of %d machines on 1.1.0 (%.1f%%)", len(half), n, 100*float64(len(half))/n)
	if len(half) < n*40/100 || len(half) > n*60/100 {
		t.Fatalf("%d of %d machines at 50%%", len(half), n)
	}
	for _, i := range first {
		if !slices.Contains(half, i) {
			t.Errorf("%s was in the 10%% and is not on 1.1.0 at 50%%", f.ms[i].name)
		}
	}
	if !slices.Equal(half, want(50)) {
		t.Errorf("on 1.1.0 at 50%%: %v; the buckets under 50: %v", half, want(50))
	}

	// Phases: 50% now and 100% a few seconds on; paused at once, the
	// second phase never comes.
	f.rollout("set", "1.1.0", "-phases", "50%@0h,100%@3s")
	st := f.status()
	if len(st.Rollouts) != 1 || st.Rollouts[0].Next == nil || st.Rollouts[0].Phase != 1 || st.Rollouts[0].Percent != 50 {
		t.Fatalf("status of the phased rollout: %+v", st.Rollouts)
	}
	second := st.Rollouts[0].Next.Start
	if out := f.rollout("pause", "1.1.0"); !strings.Contains(out, "paused at 50%") {
		t.Errorf("rollout pause printed %q", out)
	}
	time.Sleep(time.Until(second.Add(200 * time.Millisecond)))
	if paused := on(f.check(), "1.1.0"); !slices.Equal(paused, half) {
		t.Errorf("paused past the 100%% phase's start, yet %d machines on 1.1.0, was %d", len(paused), len(half))
	}

	// Resumed: the phase not yet started moves later by the pause.
	f.rollout("resume", "1.1.0")
	st = f.status()
	if r := st.Rollouts[0]; r.Paused || r.Next == nil || !r.Next.Start.After(second) {
		t.Errorf("resumed: %+v, next %+v (was at %s)", r, r.Next, second)
	}
	f.rollout("set", "1.1.0", "-percent", "100")
	versions = f.check()
	if all := on(versions, "1.1.0"); len(all) != n {
		t.Fatalf("at 100%%: %d of %d machines on 1.1.0", len(all), n)
	}
	f.checkView(versions)
	if d := f.downloads("1.1.0"); d != n {
		t.Errorf("%d downloads of 1.1.0 for %d machines", d, n)
	}

	// Abort: every machine goes back to 1.0.0, its backup, and stays.
	if out := f.rollout("abort", "1.1.0"); !strings.Contains(out, "withdrawn") {
		t.Errorf("rollout abort printed %q", out)
	}
	versions = f.check()
	if back := on(versions, "1.0.0"); len(back) != n {
		t.Fatalf("after abort: %d of %d machines back on 1.0.0", len(back), n)
	}
	if v := f.checkView(versions); len(v.Rollouts) != 1 || v.Rollouts[0].On != 0 {
		t.Errorf("the fleet view's rollouts after abort: %+v", v.Rollouts)
	}
	// Each 1.0.0 put back checked again at once, and did not take 1.1.0.
	if d := f.downloads("1.1.0"); d != n {
		t.Errorf("%d downloads of the withdrawn 1.1.0, want the %d from before", d, n)
	}
	for _, m := range f.ms[:5] {
		if v := versionOf(t, m.target); v != "1.0.0" {
			t.Errorf("%s: installed %s after abort", m.name, v)
		}
	}
	if st := f.status(); !st.Rollouts[0].Withdrawn {
		t.Errorf("status after abort: %+v", st.Rollouts)
	}
	t.Logf("rollout of %d machines: %v", n, time.Since(start).Round(time.Millisecond))
}

// TestFleetHalt: a 1.2.0 whose probe fails on every machine (it says it
// is 9.9.9) is rolled out to all; the machines report to the server's
// deployment log, and the server halts the rollout after 3 machines have
// failed: the rest of the fleet never downloads it.
func TestFleetHalt(t *testing.T) {
	t.Parallel()
	const n = 40
	db := filepath.Join(t.TempDir(), "deployments.db")
	f := newFleet(t, n, "-db", db, "-halt-min", "3", "-halt-percent", "5")
	f.report = true
	f.ms[0].labels = "canary,eu-west"
	f.ms[1].labels = "eu-west"
	f.rollout("set", "1.2.0", "-percent", "100")
	f.publish("1.2.0", "9.9.9")

	versions := f.check()
	if stuck := on(versions, "1.0.0"); len(stuck) != n {
		t.Fatalf("%d of %d machines still on 1.0.0 after a release that fails its probe", len(stuck), n)
	}
	d := f.downloads("1.2.0")
	t.Logf("the failing release was downloaded %d times by %d machines, %d at a time", d, n, fleetParallel)
	// Three fail, and those already on their way when the third reported.
	if d < 3 || d > 3+fleetParallel-1 {
		t.Fatalf("%d downloads of the failing release, want 3 to %d", d, 3+fleetParallel-1)
	}

	// The status, from the rollouts file and the deployment log.
	st := f.status("-db", db)
	if len(st.Rollouts) != 1 {
		t.Fatalf("status: %+v", st)
	}
	r := st.Rollouts[0]
	if !r.Paused || r.HaltedAt == "" || r.Percent != 0 || !strings.Contains(r.Reason, "reported a failure or a rollback") {
		t.Errorf("status after the halt: %+v", r)
	}
	if r.Machines == nil || r.Failures == nil || *r.Machines != d || *r.Failures != d {
		t.Errorf("status counts machines %v, failures %v; want %d and %d", r.Machines, r.Failures, d, d)
	}
	if st := f.status(); st.Rollouts[0].Machines != nil || st.Rollouts[0].Failures != nil {
		t.Errorf("counts without -db: %+v", st.Rollouts[0])
	}
	// The same as JSON from the server.
	resp, err := http.Get(f.ps.base + "api/rollouts?app=hello")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var api []rolloutStatus
	if err := json.Unmarshal(body, &api); err != nil || resp.StatusCode != http.StatusOK || len(api) != 1 || len(api[0].Rollouts) != 1 {
		t.Fatalf("GET /api/rollouts: %s %v: %s", resp.Status, err, body)
	}
	if a := api[0].Rollouts[0]; !a.Paused || a.Reason != r.Reason || a.Failures == nil || *a.Failures != d {
		t.Errorf("/api/rollouts: %+v, want what status says: %+v", a, r)
	}

	// The fleet view: every machine on 1.0.0, the halt and why, the
	// machines whose probe failed, and each machine's labels and install
	// ID as it reported them.
	v := f.checkView(versions)
	if len(v.Halts) != 1 || v.Halts[0].Version != "1.2.0" || v.Halts[0].Reason != r.Reason {
		t.Errorf("the fleet view's halts: %+v, want 1.2.0: %s", v.Halts, r.Reason)
	}
	if len(v.Rollouts) != 1 || v.Rollouts[0].On != 0 || v.Rollouts[0].Failures == nil || *v.Rollouts[0].Failures != d {
		t.Errorf("the fleet view's rollouts: %+v", v.Rollouts)
	}
	failed := 0
	for _, m := range v.Machines {
		if m.Last.Error != "" {
			failed++
			if m.Last.Step != "probe" {
				t.Errorf("%s last reported a failed %s, want its probe: %s", m.Machine, m.Last.Step, m.Last.Error)
			}
		}
		i := slices.IndexFunc(f.ms, func(im *installation) bool { return im.name == m.Machine })
		if i < 0 {
			continue
		}
		wantLabels := []string(nil)
		if f.ms[i].labels != "" {
			wantLabels = strings.Split(f.ms[i].labels, ",")
		}
		if !slices.Equal(m.Labels, wantLabels) || m.InstallID != f.ms[i].installID(t) {
			t.Errorf("%s in the fleet view: labels %v, install ID %q; want %v, %q", m.Machine, m.Labels, m.InstallID, wantLabels, f.ms[i].installID(t))
		}
	}
	if failed != d {
		t.Errorf("%d machines last reported a failure, want the %d that took the release", failed, d)
	}

	// The rest of the fleet never takes it.
	if stuck := on(f.check(), "1.0.0"); len(stuck) != n {
		t.Errorf("%d of %d machines on 1.0.0 after the halt", len(stuck), n)
	}
	if again := f.downloads("1.2.0"); again != d {
		t.Errorf("the halted release was downloaded %d times more", again-d)
	}
}

// TestFleetPins: a machine pinned by its install ID and one by a label
// stay at 1.0.0 while the rest update; unpinned, they update.
func TestFleetPins(t *testing.T) {
	t.Parallel()
	f := newFleet(t, 4)
	f.ms[1].labels = "canary,eu-west"
	f.ms[2].labels = "eu-west"
	f.publish("1.0.0", "1.0.0")
	if got := on(f.check(), "1.0.0"); len(got) != 4 { // each makes its install ID
		t.Fatalf("before any release: %v", got)
	}
	id := f.ms[0].installID(t)
	pin := func(verb string, args ...string) string {
		t.Helper()
		return f.cmd(append([]string{verb, "-dir", f.ps.releases, "-key", f.key, "-app", "hello"}, args...)...)
	}
	if out := pin("pin", "-version", "1.0.0", "-install-id", id); !strings.Contains(out, "pinned at 1.0.0") {
		t.Errorf("pin printed %q", out)
	}
	pin("pin", "-version", "1.0.0", "-label", "canary")
	f.publish("1.1.0", "1.1.0")
	got := f.check()
	if want := []string{"1.0.0", "1.0.0", "1.1.0", "1.1.0"}; !slices.Equal(got, want) {
		t.Fatalf("pinned by ID, pinned by label, two free: %v, want %v%s", got, want, f.why(0, 1, 2, 3))
	}
	if st := f.status(); len(st.Pins) != 1 || !slices.Equal(st.Pins[0].InstallIDs, []string{id}) || !slices.Equal(st.Pins[0].Labels, []string{"canary"}) {
		t.Errorf("status pins: %+v", st.Pins)
	}
	if again := f.check(); !slices.Equal(again, got) {
		t.Errorf("the second check: %v, the first: %v", again, got)
	}

	pin("unpin", "-install-id", id)
	if got := f.check(); !slices.Equal(got, []string{"1.1.0", "1.0.0", "1.1.0", "1.1.0"}) {
		t.Errorf("unpinned by ID: %v", got)
	}
	pin("unpin", "-version", "1.0.0", "-label", "canary")
	if got := on(f.check(), "1.1.0"); len(got) != 4 {
		t.Errorf("all unpinned: %d of 4 on 1.1.0", len(got))
	}
	if st := f.status(); len(st.Pins) != 0 {
		t.Errorf("pins left: %+v", st.Pins)
	}
}

// TestFleetStaticFolder: a rollout published with -to file:// into a
// folder that a plain static web server serves: the machines decide from
// the signed feed alone.
func TestFleetStaticFolder(t *testing.T) {
	t.Parallel()
	const n = 30
	f := newFleet(t, n)
	www := filepath.Join(f.root, "www")
	static := httptest.NewServer(http.FileServer(http.Dir(www)))
	t.Cleanup(static.Close)
	f.base = countingProxy(t, static.URL+"/", f.count).URL + "/"
	f.publish("1.1.0", "1.1.0")
	out := f.rollout("set", "1.1.0", "-percent", "30", "-to", "file://"+filepath.ToSlash(www))
	if !strings.Contains(out, "published hello") {
		t.Fatalf("rollout set -to printed %q", out)
	}
	got := on(f.check(), "1.1.0")
	var want []int
	for i, m := range f.ms {
		if bucketOf(m.installID(t), "hello", "1.1.0") < 30 {
			want = append(want, i)
		}
	}
	t.Logf("at 30%% from a static folder: %d of %d machines", len(got), n)
	if !slices.Equal(got, want) || len(got) == 0 || len(got) == n {
		t.Errorf("updated %v, want the machines under 30%%: %v", got, want)
	}
	if _, err := os.Stat(filepath.Join(www, "hello", "rollouts.json")); err == nil {
		t.Error("the unsigned rollouts file was published")
	}
}
