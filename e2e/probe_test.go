//go:build unix

package e2e

import (
	"strings"
	"testing"
)

// TestBannerBeforeNew: a program that prints a banner before it calls New
// updates, because the probe answers on its own channel; a build that
// never calls New is refused with ErrProbeNoAnswer, changes nothing and is
// not marked bad, so the fixed build of the same version installs.
func TestBannerBeforeNew(t *testing.T) {
	t.Parallel()
	w := newHostWorldPkgserver(t, "1.0.0")

	v110 := w.publish(bannerPkg, "1.1.0")
	out, errOut := w.run()
	// 1.0.0 printed its banner, installed 1.1.0 and exec'd into it.
	wantLines(t, out, errOut, "app 1.0.0 starting", "app 1.1.0 starting", "app 1.1.0 done")
	wantVerdicts(t, errOut, "none")
	sameBytes(t, w.target, v110)
	binHolds(t, w.bin, "banner", ".banner.old")
	if s := readState(t, w.state); s.Pending != nil {
		t.Errorf("1.1.0 ran and confirmed, yet %s is still pending", s.Pending.Version)
	}

	// 1.2.0 that never calls New: refused twice (not marked bad, so tried
	// again), with nothing changed.
	w.publish(nonewPkg, "1.2.0")
	before := snap(t, w.target)
	for i := range 2 {
		out, errOut = w.run()
		wantLines(t, out, errOut, "app 1.1.0 starting", "app 1.1.0 done")
		wantVerdicts(t, errOut, "probe-no-answer")
		if strings.Contains(errOut, "banner: skipped") {
			t.Fatalf("run %d: the build that did not answer is reported skipped (Result.Skipped not empty):\n%s", i, errOut)
		}
		unchanged(t, w.target, before)
		for _, b := range readState(t, w.state).Bad {
			if b.Version == "1.2.0" {
				t.Fatalf("run %d: 1.2.0 is marked bad (%s), but a build that never answered is no verdict", i, b.Why)
			}
		}
		noStrays(t, w.state)
	}
	t.Logf("the build without New was refused with: %s", verdictText(errOut))

	// The fixed build of the same version, republished, installs.
	v120 := w.publish(bannerPkg, "1.2.0")
	out, errOut = w.run()
	wantLines(t, out, errOut, "app 1.1.0 starting", "app 1.2.0 starting", "app 1.2.0 done")
	wantVerdicts(t, errOut, "none")
	sameBytes(t, w.target, v120)
	binHolds(t, w.bin, "banner", ".banner.old")
	noStrays(t, w.state)
}
