//go:build wine

package lock

// Under Wine (.ci/windows), make t.TempDir's cleanup work; see wintest.
import _ "github.com/molt-go/update/internal/wintest"
