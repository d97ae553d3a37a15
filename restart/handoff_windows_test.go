//go:build windows

package restart

import (
	"errors"
	"testing"
)

func TestHandoffUnsupportedOnWindows(t *testing.T) {
	t.Parallel()
	if _, err := NewHandoff(HandoffOptions{}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("NewHandoff on Windows: %v, want ErrUnsupported", err)
	}
}
