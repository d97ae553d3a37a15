package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The README works as written: every Go block compiles, and every shell
// block runs, in a copy of the repository, as a new user would run it.

// fence matches a fenced block and its language.
var fence = regexp.MustCompile("(?ms)^```(\\w+)\\n(.*?)^```\\n")

func readmeBlocks(t *testing.T, lang string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	for _, m := range fence.FindAllStringSubmatch(string(data), -1) {
		if m[1] == lang {
			blocks = append(blocks, m[2])
		}
	}
	return blocks
}

// repoRoot is the repository's root, the parent of this module's folder.
func repoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(wd)
}

func TestReadmeGoBlocksCompile(t *testing.T) {
	t.Parallel()
	blocks := readmeBlocks(t, "go")
	if len(blocks) == 0 {
		t.Fatal("the README has no Go block: the quick start is gone")
	}
	root := repoRoot(t)
	for i, src := range blocks {
		dir := t.TempDir()
		write := func(name, text string) {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		write("main.go", src)
		write("go.mod", "module readme\n\ngo 1.26.0\n")
		// A block that embeds a key gets one, as the quick start's reader
		// would put theirs beside it.
		pub, err := os.ReadFile(filepath.Join(root, "examples", "quickstart", "update.pub"))
		if err != nil {
			t.Fatal(err)
		}
		write("update.pub", string(pub))
		work := filepath.Join(dir, "go.work")
		write("go.work", "go 1.26.0\n\nuse (\n\t.\n\t"+root+"\n)\n")
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "out"), ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOWORK="+work)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("README Go block %d does not compile: %v\n%s\n--- block:\n%s", i+1, err, out, src)
		}
	}
}

// TestReadmeShellBlocksRun runs every shell block in a copy of the
// repository, except the test command itself (this test is part of it).
func TestReadmeShellBlocksRun(t *testing.T) {
	t.Parallel()
	blocks := readmeBlocks(t, "sh")
	if len(blocks) < 2 {
		t.Fatalf("the README has %d shell blocks, want the two commands and the publish steps", len(blocks))
	}
	copyDir := copyRepo(t)
	for i, block := range blocks {
		var lines []string
		for _, l := range strings.Split(block, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), "go test") {
				continue
			}
			lines = append(lines, l)
		}
		script := "set -eu\n" + strings.Join(lines, "\n")
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		cmd := exec.CommandContext(ctx, "bash", "-c", script)
		cmd.Dir = copyDir
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		cmd.WaitDelay = 5 * time.Second
		err := cmd.Run()
		cancel()
		if err != nil {
			t.Errorf("README shell block %d failed: %v\n--- block:\n%s\n--- output:\n%s", i+1, err, block, out.String())
			continue
		}
		if strings.Contains(block, "./hello -version") && !strings.Contains(out.String(), "1.2.3") {
			t.Errorf("the publish steps did not update hello to 1.2.3:\n%s", out.String())
		}
	}
}

// copyRepo copies the repository's files (tracked and new, not ignored)
// into a temporary folder.
func copyRepo(t *testing.T) string {
	t.Helper()
	root := repoRoot(t)
	out, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Skipf("listing the repository's files needs git: %v", err)
	}
	dst := filepath.Join(t.TempDir(), "molt")
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		src := filepath.Join(root, name)
		fi, err := os.Lstat(src)
		if err != nil || !fi.Mode().IsRegular() {
			continue // deleted in the working tree, or a link
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dst, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}
