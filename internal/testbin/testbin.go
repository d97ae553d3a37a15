// Package testbin builds small Go programs for tests that need a real
// executable to install, run or exec into.
package testbin

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/molt-go/update/internal/platform"
)

// Build compiles src, the text of one main package that imports only the
// standard library, into the executable dir/name (name gets ".exe" on
// windows) and returns its path. The sources go into a directory of their
// own under dir, so dir ends up holding the executable and that directory.
func Build(ctx context.Context, dir, name, src string) (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	srcDir, err := os.MkdirTemp(dir, name+"-src-")
	if err != nil {
		return "", fmt.Errorf("testbin: %w", err)
	}
	if err := os.WriteFile(filepath.Join(srcDir, "go.mod"), []byte("module "+name+"\n\ngo 1.26\n"), 0o644); err != nil {
		return "", fmt.Errorf("testbin: %w", err)
	}
	if err := os.WriteFile(filepath.Join(srcDir, "main.go"), []byte(src), 0o644); err != nil {
		return "", fmt.Errorf("testbin: %w", err)
	}
	out := filepath.Join(dir, platform.ExeName(name, runtime.GOOS))
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", out, ".")
	cmd.Dir = srcDir
	var msg bytes.Buffer
	cmd.Stdout = &msg
	cmd.Stderr = &msg
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("testbin: go build %s: %w\n%s", name, err, msg.Bytes())
	}
	return out, nil
}

// Hello returns the source of a program that prints greeting and its
// arguments after the first on one line, then, for each line read from
// stdin, greeting and that line, until stdin ends. A test can so tell which
// version of a program runs, and keep one running as long as it likes.
func Hello(greeting string) string {
	return fmt.Sprintf(`package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

func main() {
	fmt.Println(%[1]q + strings.Join(append([]string{""}, os.Args[1:]...), " "))
	if len(os.Args) > 1 && os.Args[1] == "-serve" {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			fmt.Println(%[1]q, sc.Text())
		}
	}
}
`, greeting)
}
