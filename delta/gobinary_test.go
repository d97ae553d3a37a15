package delta

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// buildHello builds a tiny program, stripped as releases are, that prints
// greeting; src is the program's text with %s where the greeting goes.
func buildHello(t *testing.T, gobin, dir, name, source string) []byte {
	t.Helper()
	src := filepath.Join(dir, name)
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(src, "go.mod"), []byte("module hello\n\ngo 1.22\n"), 0o644)
	os.WriteFile(filepath.Join(src, "main.go"), []byte(source), 0o644)
	bin := filepath.Join(dir, name+".bin")
	cmd := exec.Command(gobin, "build", "-trimpath", "-ldflags=-s -w", "-o", bin, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", name, err, out)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGoBinaries(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: builds Go programs")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH: cannot build the test programs")
	}
	dir := t.TempDir()
	const v1 = "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello from version 1.0.0\") }\n"
	const v2 = "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello from version 1.0.1\") }\n"
	const v3 = "package main\n\nimport (\n\t\"fmt\"\n\t\"strings\"\n)\n\nfunc main() { fmt.Println(strings.ToUpper(\"hello from version 1.1.0, which shouts\")) }\n"
	a := buildHello(t, gobin, dir, "v1", v1)
	b := buildHello(t, gobin, dir, "v2", v2)
	c := buildHello(t, gobin, dir, "v3", v3)
	if bytes.Equal(a, b) {
		t.Fatal("the two builds are identical: the test would prove nothing")
	}
	for _, p := range []struct {
		name     string
		old, new []byte
		maxRatio float64
	}{
		{"string changed", a, b, 0.001},
		{"code changed", a, c, 0.05},
		{"downgrade", c, a, 0.05},
	} {
		patch := roundTrip(t, p.old, p.new)
		ratio := float64(len(patch)) / float64(len(p.new))
		t.Logf("%s: %d -> %d bytes, patch %d bytes (%.3f%%)", p.name, len(p.old), len(p.new), len(patch), 100*ratio)
		if ratio > p.maxRatio {
			t.Errorf("%s: patch is %.3f%% of the new binary, want at most %.3f%%", p.name, 100*ratio, 100*p.maxRatio)
		}
	}
}
