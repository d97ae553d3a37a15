package update

import (
	"context"
	"slices"
	"testing"
)

// TestEventsCarryLabelsAndInstallID: every event says the machine's
// labels and, once the first look has made it, its install ID, so that
// the package server can tell which pins hold it.
func TestEventsCarryLabelsAndInstallID(t *testing.T) {
	t.Parallel()
	var evs []Event
	o := testOptions(t, newMem("1.1.0", []byte("new")))
	o.Labels = []string{"canary", "eu-west"}
	o.OnEvent = func(e Event) { evs = append(evs, e) }
	u, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	id := u.InstallID()
	if id == "" || len(evs) < 2 {
		t.Fatalf("install ID %q, %d events", id, len(evs))
	}
	for _, e := range evs {
		if !slices.Equal(e.Labels, o.Labels) || e.InstallID != id {
			t.Errorf("%s event: labels %v, install ID %q; want %v and %q", e.Step, e.Labels, e.InstallID, o.Labels, id)
		}
	}
	// An event is the receiver's: changing its labels changes no other.
	evs[0].Labels[0] = "changed"
	if evs[1].Labels[0] != "canary" || o.Labels[0] != "canary" {
		t.Error("events share their labels with the options or with each other")
	}
}
