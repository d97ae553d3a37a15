//go:build wine

package restart

// Under Wine (.ci/windows), make t.TempDir's cleanup work; see wintest.
import _ "github.com/molt-go/update/internal/wintest"
