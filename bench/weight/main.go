// Command weight measures what the library weighs in a program that uses
// it, side by side:
//
//   - molt: the README's quick-start program (examples/quickstart: update,
//     source/feed and verify), built against the checkout named by -molt;
//   - minio: the same program on github.com/minio/selfupdate v0.6.0: fetch
//     the binary's sha256 and minisign signature, then selfupdate.Apply
//     with the Checksum and a Verifier (v0.6.0 verifies minisign
//     signatures only; it has no ECDSA or PEM verifier);
//   - hello: fmt.Println, the floor.
//
// Each is a fresh consumer module in a temporary folder (molt by a replace
// directive, go mod tidy, GOWORK=off, GOFLAGS=-mod=mod, GOTOOLCHAIN=local),
// and for each the command reports the stripped binary's size (go build
// -ldflags="-s -w" -trimpath), the lines of go list -m all (the main module
// included) and of go.sum, the modules linked (the dep lines of go version
// -m), and the cold build time: a build with a fresh, empty GOCACHE (so the
// standard library is compiled too) and a warm module cache, the median of
// -rounds builds, interleaved across the programs, as wall time and as CPU
// time (user+system of the build's processes, which a busy machine sways
// less).
//
//	cd bench && go run ./weight
//	git -C .. archive a3bf88a | tar -x -C /tmp/molt-before
//	cd bench && go run ./weight -molt /tmp/molt-before
//
// The quick-start source always comes from this checkout's
// examples/quickstart, so an older -molt is measured with the same program.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

const moltModule = "github.com/molt-go/update"

// goDirective is the go line of the consumer modules.
const goDirective = "1.26.0"

// minioMain is the quick-start program written on minio/selfupdate.
const minioMain = `// Command quickstart is the quick-start program on minio/selfupdate.
package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"time"

	"github.com/minio/selfupdate"
)

// publicKey is the minisign public key the releases are signed with.
const publicKey = "RWSZ1lDYOhsEkuvHHkr+LO39sXcNtfzs5iJztmX7dTtbCAqp2DP84575"

var version = "0.0.0" // go build -ldflags "-X main.version=1.2.3"

func main() {
	url := flag.String("url", "https://updates.example.com/hello/hello-linux-amd64", "URL of the newest binary")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := selfUpdate(ctx, *url); err != nil {
		log.Print(err) // the old version goes on
	}
	fmt.Printf("hello %s\n", version)
}

// selfUpdate replaces the running executable with the binary at url, if
// its sha256 (url.sha256) matches and its minisign signature
// (url.minisig) verifies.
func selfUpdate(ctx context.Context, url string) error {
	line, err := get(ctx, url+".sha256", 1<<10)
	if err != nil {
		return err
	}
	fields := strings.Fields(string(line))
	if len(fields) == 0 {
		return errors.New("update: empty checksum file")
	}
	checksum, err := hex.DecodeString(fields[0])
	if err != nil {
		return fmt.Errorf("update: checksum: %w", err)
	}
	v := selfupdate.NewVerifier()
	if err := v.LoadFromURL(url+".minisig", publicKey, http.DefaultTransport); err != nil {
		return fmt.Errorf("update: signature: %w", err)
	}
	resp, err := fetch(ctx, url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return selfupdate.Apply(resp.Body, selfupdate.Options{Checksum: checksum, Verifier: v})
}

func fetch(ctx context.Context, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("update: GET %s: %s", url, resp.Status)
	}
	return resp, nil
}

func get(ctx context.Context, url string, limit int64) ([]byte, error) {
	resp, err := fetch(ctx, url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(io.LimitReader(resp.Body, limit))
}
`

const helloMain = `package main

import "fmt"

func main() { fmt.Println("hello") }
`

// program is one consumer module.
type program struct {
	name    string
	require string            // require lines of its go.mod
	replace string            // replace lines of its go.mod
	files   map[string][]byte // its files besides go.mod
	dir     string            // where it is built
}

// weight is what one program weighs.
type weight struct {
	size   int64           // stripped binary, bytes
	listM  int             // lines of go list -m all
	goSum  int             // lines of go.sum
	linked []string        // modules linked, from go version -m
	cold   []time.Duration // wall time, one per round
	cpu    []time.Duration // user+system time of the go command and its children, one per round
}

func main() {
	moltDir := flag.String("molt", "", "checkout of molt to measure (default: the repository this command is in)")
	rounds := flag.Int("rounds", 3, "cold builds per program; the median is reported")
	flag.Parse()
	if *rounds < 1 {
		fmt.Fprintln(os.Stderr, "weight: -rounds must be at least 1")
		os.Exit(2)
	}
	if err := run(*moltDir, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "weight:", err)
		os.Exit(1)
	}
}

func run(moltDir string, rounds int) error {
	repo, err := repoRoot()
	if err != nil {
		return err
	}
	if moltDir == "" {
		moltDir = repo
	}
	if moltDir, err = filepath.Abs(moltDir); err != nil {
		return err
	}
	if err := isMolt(moltDir); err != nil {
		return fmt.Errorf("-molt %s: %w", moltDir, err)
	}
	qsMain, err := os.ReadFile(filepath.Join(repo, "examples", "quickstart", "main.go"))
	if err != nil {
		return err
	}
	qsKey, err := os.ReadFile(filepath.Join(repo, "examples", "quickstart", "update.pub"))
	if err != nil {
		return err
	}
	env, err := consumerEnv()
	if err != nil {
		return err
	}

	work, err := os.MkdirTemp("", "molt-weight-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	progs := []*program{
		{name: "molt", files: map[string][]byte{"main.go": qsMain, "update.pub": qsKey},
			require: moltModule + " v0.0.0-00010101000000-000000000000",
			replace: moltModule + " => " + moltDir},
		{name: "minio", files: map[string][]byte{"main.go": []byte(minioMain)},
			require: "github.com/minio/selfupdate v0.6.0"},
		{name: "hello", files: map[string][]byte{"main.go": []byte(helloMain)}},
	}
	weights := map[string]*weight{}
	for _, p := range progs {
		fmt.Fprintf(os.Stderr, "weight: %s: go mod tidy, build\n", p.name)
		w, err := measure(work, p, env)
		if err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		weights[p.name] = w
	}
	for r := 0; r < rounds; r++ {
		for _, p := range progs {
			fmt.Fprintf(os.Stderr, "weight: %s: cold build %d/%d\n", p.name, r+1, rounds)
			wall, cpu, err := coldBuild(work, p, env)
			if err != nil {
				return fmt.Errorf("%s: cold build: %w", p.name, err)
			}
			w := weights[p.name]
			w.cold, w.cpu = append(w.cold, wall), append(w.cpu, cpu)
		}
	}

	fmt.Printf("go %s %s/%s, %d CPUs; cold build: median of %d, empty GOCACHE, warm module cache\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), rounds)
	fmt.Printf("molt: %s%s\n\n", moltDir, describe(moltDir))
	fmt.Printf("%-12s %12s %12s %10s %8s %12s %10s\n", "program", "stripped", "list -m all", "go.sum", "linked", "cold build", "cold CPU")
	for _, p := range progs {
		w := weights[p.name]
		fmt.Printf("%-12s %9.2f MB %12d %10d %8d %11.1fs %9.1fs\n", p.name, float64(w.size)/1e6, w.listM, w.goSum, len(w.linked),
			median(w.cold).Seconds(), median(w.cpu).Seconds())
	}
	m := weights["molt"]
	for _, other := range []string{"minio", "hello"} {
		o := weights[other]
		fmt.Printf("%-12s %11s %12s %10s %8s %12s %10s\n", "molt/"+other,
			ratio(float64(m.size), float64(o.size)), ratio(float64(m.listM), float64(o.listM)),
			ratio(float64(m.goSum), float64(o.goSum)), ratio(float64(len(m.linked)), float64(len(o.linked))),
			ratio(median(m.cold).Seconds(), median(o.cold).Seconds()), ratio(median(m.cpu).Seconds(), median(o.cpu).Seconds()))
	}
	fmt.Println()
	for _, p := range progs {
		w := weights[p.name]
		fmt.Printf("%s: cold builds %s (CPU %s); linked: %s\n", p.name, durations(w.cold), durations(w.cpu), orNone(w.linked))
	}
	fmt.Println()
	mi := weights["minio"]
	fmt.Printf("targets: size <= minio's (%.2f MB; moonshot 4.50 MB): %s; cold build <= 1.5x minio's (%.1fs): %s\n",
		float64(mi.size)/1e6, verdict(m.size <= mi.size), 1.5*median(mi.cold).Seconds(),
		verdict(median(m.cold).Seconds() <= 1.5*median(mi.cold).Seconds()))
	return nil
}

// measure writes p's module, tidies it, builds it stripped and counts.
func measure(work string, p *program, env []string) (*weight, error) {
	p.dir = filepath.Join(work, p.name)
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		return nil, err
	}
	mod := fmt.Sprintf("module example.com/%s\n\ngo %s\n", p.name, goDirective)
	if p.require != "" {
		mod += "\nrequire " + p.require + "\n"
	}
	if p.replace != "" {
		mod += "\nreplace " + p.replace + "\n"
	}
	if err := os.WriteFile(filepath.Join(p.dir, "go.mod"), []byte(mod), 0o644); err != nil {
		return nil, err
	}
	for name, data := range p.files {
		if err := os.WriteFile(filepath.Join(p.dir, name), data, 0o644); err != nil {
			return nil, err
		}
	}
	if _, err := goCmd(p.dir, env, "mod", "tidy"); err != nil {
		return nil, err
	}
	bin := filepath.Join(work, p.name+".bin")
	if _, err := goCmd(p.dir, env, buildArgs(bin)...); err != nil {
		return nil, err
	}
	fi, err := os.Stat(bin)
	if err != nil {
		return nil, err
	}
	w := &weight{size: fi.Size()}
	out, err := goCmd(p.dir, env, "list", "-m", "all")
	if err != nil {
		return nil, err
	}
	w.listM = countLines(out)
	sum, err := os.ReadFile(filepath.Join(p.dir, "go.sum"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	w.goSum = countLines(sum)
	out, err = goCmd(p.dir, env, "version", "-m", bin)
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "dep" {
			w.linked = append(w.linked, f[1])
		}
	}
	return w, nil
}

// coldBuild builds p with a fresh, empty build cache and returns how long
// it took, and the CPU time it used (the user and system time of the go
// command, which includes those of the compilers and linker it waited for):
// on a busy machine the wall time says more about the neighbours, the CPU
// time less.
func coldBuild(work string, p *program, env []string) (wall, cpu time.Duration, err error) {
	cache, err := os.MkdirTemp(work, "gocache-")
	if err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(cache)
	bin := filepath.Join(work, p.name+".cold")
	defer os.Remove(bin)
	cmd := exec.Command("go", buildArgs(bin)...)
	cmd.Dir, cmd.Env = p.dir, append(env, "GOCACHE="+cache)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, 0, fmt.Errorf("go build: %v\n%s", err, out.Bytes())
	}
	wall = time.Since(start)
	return wall, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), nil
}

func buildArgs(out string) []string {
	return []string{"build", "-ldflags=-s -w", "-trimpath", "-o", out, "."}
}

// consumerEnv is the environment of the go commands run in a consumer
// module: outside any workspace, free to update go.mod, with this
// toolchain.
func consumerEnv() ([]string, error) {
	flags, err := exec.Command("go", "env", "GOFLAGS").Output()
	if err != nil {
		return nil, fmt.Errorf("go env GOFLAGS: %w", err)
	}
	var env []string
	for _, kv := range os.Environ() {
		switch strings.SplitN(kv, "=", 2)[0] {
		case "GOWORK", "GOFLAGS", "GOTOOLCHAIN", "GOCACHE":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "GOWORK=off", "GOTOOLCHAIN=local",
		"GOFLAGS="+strings.TrimSpace(strings.TrimSpace(string(flags))+" -mod=mod")), nil
}

// goCmd runs the go command in dir and returns its stdout.
func goCmd(dir string, env []string, args ...string) ([]byte, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir, cmd.Env = dir, env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return stdout.Bytes(), nil
}

// repoRoot is the root of the molt repository this command is run in: the
// nearest folder up from the working directory whose go.mod is molt's.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if isMolt(dir) == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside a checkout of " + moltModule + ": run it from bench, or give -molt")
		}
		dir = parent
	}
}

// isMolt reports why dir is not the root of a molt checkout, if it is not.
func isMolt(dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "module" {
			if f[1] == moltModule {
				return nil
			}
			return fmt.Errorf("go.mod is module %s, not %s", f[1], moltModule)
		}
	}
	return errors.New("go.mod has no module line")
}

// describe names the commit of dir, if it is a git work tree's root.
func describe(dir string) string {
	top, err := exec.Command("git", "-C", dir, "rev-parse", "--show-toplevel").Output()
	if err != nil || filepath.Clean(strings.TrimSpace(string(top))) != dir {
		return ""
	}
	head, err := exec.Command("git", "-C", dir, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return ""
	}
	s := " (git " + strings.TrimSpace(string(head))
	if st, err := exec.Command("git", "-C", dir, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
		s += " with changes in the work tree"
	}
	return s + ")"
}

func countLines(b []byte) int {
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(line) != "" {
			n++
		}
	}
	return n
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ratio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

func durations(ds []time.Duration) string {
	var s []string
	for _, d := range ds {
		s = append(s, fmt.Sprintf("%.1fs", d.Seconds()))
	}
	return strings.Join(s, " ")
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	return strings.Join(s, " ")
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "missed"
}
