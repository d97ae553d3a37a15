//go:build !windows

package update

import (
	"os"
	"strconv"
	"strings"
)

// processGone reports whether pid no longer runs: no such process, or a
// zombie nobody reaps (Linux's /proc; elsewhere it says gone).
func processGone(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// pid (comm) state ...
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && len(s) > i+2 && (s[i+2] == 'Z' || s[i+2] == 'X')
}
