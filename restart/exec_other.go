//go:build !unix && !windows

package restart

import (
	"context"
	"fmt"
)

func (e Exec) restart(_ context.Context, exe string, _, _ []string) error {
	return fmt.Errorf("restart: exec %s: %w", exe, ErrUnsupported)
}
