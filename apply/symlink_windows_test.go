//go:build windows

package apply

import (
	"context"
	"errors"
	"testing"
)

func TestSymlinkUnsupportedOnWindows(t *testing.T) {
	t.Parallel()
	s := &Symlink{Root: t.TempDir()}
	if _, err := s.Stage("app.exe"); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Stage on Windows: %v, want ErrUnsupported", err)
	}
	if err := s.Apply(context.Background(), Change{Target: "app.exe", Version: "1"}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Apply on Windows: %v, want ErrUnsupported", err)
	}
	if err := s.Revert(context.Background(), "app.exe"); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Revert on Windows: %v, want ErrUnsupported", err)
	}
}
