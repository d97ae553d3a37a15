package restart

import (
	"context"
	"strings"
	"testing"

	"github.com/molt-go/update/internal/testbin"
)

// TestExecRetriesRealTextBusy: linux refuses to exec a file open for
// writing (ETXTBSY). The child holds the new program open for writing,
// closes it when Restart first reports ETXTBSY, and Restart's retry must
// then succeed.
func TestExecRetriesRealTextBusy(t *testing.T) {
	t.Parallel()
	exe, err := testbin.Build(context.Background(), t.TempDir(), "newprog", execNewProgram)
	if err != nil {
		t.Fatal(err)
	}
	got := runExecRole(t, "busy", exe)
	if len(got) != 3 || got[0].Who != "old" || got[2].Who != "new" {
		t.Fatalf("reports %+v, want old, a retry, then new", got)
	}
	if !strings.HasPrefix(got[1].Note, "retry 1: busy=true") {
		t.Errorf("the retry report says %q, want the first retry after ETXTBSY", got[1].Note)
	}
	if got[0].PID != got[2].PID {
		t.Errorf("pid %d became %d: exec must keep the process", got[0].PID, got[2].PID)
	}
}
