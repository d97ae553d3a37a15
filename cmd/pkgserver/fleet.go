package main

import (
	"net/http"

	"github.com/molt-go/update/server"
	"github.com/molt-go/update/server/collect"
	"github.com/molt-go/update/server/pages"
)

// withFleet serves the fleet view (pages.Fleet) beside the rest: per app,
// the machines on each version, the rollouts of dir's rollouts file with
// the tries and failures of tally, the halts and pins, and each machine
// as the collector's fleet knows it.
//
//	GET /fleet, /fleet/{app}            pages (?version=V, ?label=L, ?limit=N)
//	GET /api/fleet, /api/fleet/{app}    the same as JSON, every machine
func withFleet(next http.Handler, dir string, fleet *collect.Fleet, tally *collect.Tally) http.Handler {
	mux := http.NewServeMux()
	view := pages.Fleet(pages.FleetOptions{Machines: fleet, Tally: tally,
		Rollouts: func() (*server.Rollouts, error) { return server.ReadRollouts(dir) }})
	for _, p := range []string{"GET /fleet", "GET /fleet/{app}", "GET /api/fleet", "GET /api/fleet/{app}"} {
		mux.Handle(p, view)
	}
	mux.Handle("/", next)
	return mux
}
