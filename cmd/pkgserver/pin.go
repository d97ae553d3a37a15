package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/molt-go/update/server"
)

// pin holds machines at a release, from the rollouts file as rollout
// edits it:
//
//	pkgserver pin   -dir DIR -key KEY -app APP -version V (-install-id ID | -label L)...
//	pkgserver unpin -dir DIR -key KEY -app APP [-version V] (-install-id ID | -label L)...
//
// A machine is named by its install ID (Updater.InstallID; install_id in
// its state.json) or by a label it sets (Options.Labels). A pinned machine
// takes no release but the pinned one, and never upgrades past it; pinning
// a machine or label pinned at another version moves it. unpin lets them
// update again (from the pin at -version only, if given). -install-id and
// -label may be repeated or given as comma lists; -key, -to and the rest
// are as for rollout.
func pin(args []string, unpin bool) error {
	name := "pin"
	if unpin {
		name = "unpin"
	}
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	c := addEditFlags(fs)
	version := fs.String("version", "", "the release to hold the machines at")
	var ids, labels repeated
	fs.Var(&ids, "install-id", "a machine's install ID (repeat, or a comma list)")
	fs.Var(&labels, "label", "a label machines set (repeat, or a comma list)")
	fs.Parse(args)
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("%s: unexpected arguments %v", name, fs.Args())
	case !unpin && *version == "":
		return errors.New("pin: -version is required")
	case len(ids) == 0 && len(labels) == 0:
		return fmt.Errorf("%s: give -install-id or -label", name)
	}
	edit := func(ro *server.Rollouts, now time.Time) error {
		if unpin {
			return ro.Unpin(*c.app, *version, ids, labels)
		}
		return ro.Pin(*c.app, *version, ids, labels)
	}
	who := strings.Join(append(append([]string{}, ids...), labels...), ", ")
	return c.run(edit, func(ro *server.Rollouts, now time.Time) string {
		if unpin {
			return fmt.Sprintf("%s: unpinned %s", *c.app, who)
		}
		v, _ := server.NormalVersion(*version)
		return fmt.Sprintf("%s: %s pinned at %s", *c.app, who, v)
	})
}
