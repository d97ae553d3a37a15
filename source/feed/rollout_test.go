package feed

import (
	"errors"
	"math"
	"net/url"
	"testing"
	"time"

	"github.com/molt-go/update/source"
)

// TestSignRefusesBadFleetFields: the rollout, pin and withdrawn fields are
// checked like the rest of the payload, on signing and on parsing.
func TestSignRefusesBadFleetFields(t *testing.T) {
	t.Parallel()
	s, keys := newKey(t)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	phases := func(ps ...Phase) *Rollout { return &Rollout{Phases: ps} }
	bad := map[string]func(p *Payload){
		"percent over 100":   func(p *Payload) { p.Releases[0].Rollout = &Rollout{Percent: 100.5} },
		"negative percent":   func(p *Payload) { p.Releases[0].Rollout = &Rollout{Percent: -1} },
		"NaN percent":        func(p *Payload) { p.Releases[0].Rollout = &Rollout{Percent: math.NaN()} },
		"phase over 100":     func(p *Payload) { p.Releases[0].Rollout = phases(Phase{Percent: 101, Start: start}) },
		"phase with no time": func(p *Payload) { p.Releases[0].Rollout = phases(Phase{Percent: 1}) },
		"phases out of order": func(p *Payload) {
			p.Releases[0].Rollout = phases(Phase{Percent: 10, Start: start.Add(time.Hour)}, Phase{Percent: 50, Start: start})
		},
		"phases at one time": func(p *Payload) {
			p.Releases[0].Rollout = phases(Phase{Percent: 10, Start: start}, Phase{Percent: 50, Start: start})
		},
		"pin at no version":    func(p *Payload) { p.Pins = []Pin{{Version: "one", Labels: []string{"canary"}}} },
		"pin of nobody":        func(p *Payload) { p.Pins = []Pin{{Version: "1.0.0"}} },
		"withdrawn no version": func(p *Payload) { p.Withdrawn = []string{"latest"} },
		"withdrawn and listed": func(p *Payload) { p.Withdrawn = []string{"v1.1.0"} },
	}
	for name, mutate := range bad {
		p := testPayload()
		mutate(p)
		if _, err := Sign(p, s); !errors.Is(err, source.ErrBadMetadata) {
			t.Errorf("%s: Sign: err = %v, want ErrBadMetadata", name, err)
		}
	}

	good := testPayload()
	good.Releases[0].Rollout = phases(Phase{Percent: 1, Start: start}, Phase{Percent: 10, Start: start.Add(24 * time.Hour)},
		Phase{Percent: 100, Start: start.Add(72 * time.Hour)})
	good.Pins = []Pin{{Version: "1.0.0", InstallIDs: []string{"abc"}}, {Version: "1.0.0", Labels: []string{"canary"}}}
	good.Withdrawn = []string{"1.0.5"}
	body, err := Sign(good, s)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(body, keys)
	if err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse("https://example.com/hello/")
	l, err := p.Listing(base)
	if err != nil {
		t.Fatal(err)
	}
	ro := l.Releases[0].Rollout
	if ro == nil || len(ro.Phases) != 3 || ro.Phases[1].Percent != 10 || !ro.Phases[2].Start.Equal(start.Add(72*time.Hour)) {
		t.Errorf("rollout in the listing: %+v", ro)
	}
	if len(l.Pins) != 2 || l.Pins[0].InstallIDs[0] != "abc" || l.Pins[1].Labels[0] != "canary" || len(l.Withdrawn) != 1 {
		t.Errorf("pins %+v, withdrawn %v", l.Pins, l.Withdrawn)
	}

	// A paused rollout at 0% is valid: nobody is offered the release.
	paused := testPayload()
	paused.Releases[0].Rollout = &Rollout{Paused: true}
	if _, err := Sign(paused, s); err != nil {
		t.Errorf("paused at 0%%: %v", err)
	}
}
