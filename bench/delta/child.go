package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/molt-go/update/delta"
)

// child runs one molt step in a process of its own, so that its peak RSS
// is its own: "diff old new patch" or "apply old patch out".
func child(args []string) error {
	if len(args) != 4 {
		return fmt.Errorf("want diff|apply and three paths, got %q", args)
	}
	switch args[0] {
	case "diff":
		f, err := os.Create(args[3])
		if err != nil {
			return err
		}
		if err := delta.DiffFiles(args[1], args[2], f, nil); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	case "apply":
		old, err := os.Open(args[1])
		if err != nil {
			return err
		}
		defer old.Close()
		patch, err := os.Open(args[2])
		if err != nil {
			return err
		}
		defer patch.Close()
		out, err := os.Create(args[3])
		if err != nil {
			return err
		}
		start := time.Now()
		if _, err := delta.Apply(context.Background(), old, patch, out, nil); err != nil {
			out.Close()
			return err
		}
		if err := out.Close(); err != nil {
			return err
		}
		fmt.Printf("apply %d ns\n", time.Since(start))
		return printHWM()
	}
	return fmt.Errorf("unknown child step %q", args[0])
}

// printHWM prints the process's own peak RSS. The rusage of a Go child
// cannot tell it: Go starts children sharing the parent's address space
// until exec (CLONE_VM), and Linux carries that space's peak into the
// child's ru_maxrss, so every child of a parent that once held two
// 60 MB binaries would seem to peak at the parent's size.
func printHWM() error {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil // not Linux: the parent falls back to rusage
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			fmt.Println(line)
		}
	}
	return nil
}
