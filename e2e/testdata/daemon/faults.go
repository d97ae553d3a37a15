package main

import (
	"fmt"
	"os"
	"time"
)

// TEST HOOKS. The end-to-end tests build bad releases of this daemon to
// check that each is rolled back without a failed request. Nothing here
// runs unless the build sets failMode:
//
//	go build -ldflags "-X main.version=1.1.0 -X main.failMode=panic1s" ./examples/daemon
//
// Every mode answers the updater's probe first (main calls AnswerProbe
// before any hook), so each bad release passes the probe and fails later:
//
//	exit1      exits with status 1 at once
//	panic1s    panics one second after it started
//	noready    serves but never calls Ready
//	noconfirm  serves but never confirms
var failMode = ""

// faultAtStart runs the modes that fail on their own, right after the probe.
func faultAtStart() {
	switch failMode {
	case "":
	case "exit1":
		fmt.Fprintln(os.Stderr, "daemon: test hook: exit 1")
		os.Exit(1)
	case "panic1s":
		time.AfterFunc(time.Second, func() { panic("daemon: test hook: panic after 1s") })
	case "noready", "noconfirm":
	default:
		fmt.Fprintf(os.Stderr, "daemon: unknown failMode %q\n", failMode)
		os.Exit(2)
	}
}

// faultBeforeReady reports whether the daemon may call Ready.
func faultBeforeReady() bool { return failMode != "noready" }

// faultBeforeConfirm reports whether the daemon may confirm its version.
func faultBeforeConfirm() bool { return failMode != "noconfirm" }
