package update

import (
	"testing"
	"time"
)

// TestTimeBoundsDefaults: the time bounds the attack tests shorten (the
// stall watchdog, the round of Watch) have their documented defaults when
// Options leave them zero, so a program that sets nothing is protected.
func TestTimeBoundsDefaults(t *testing.T) {
	t.Parallel()
	u, err := New(opts(t, newMem("1.1.0", []byte("new"))))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"StallInterval", u.o.StallInterval, 30 * time.Second},
		{"StallBytes", u.o.StallBytes, int64(16 << 10)},
		{"RoundTimeout", u.o.RoundTimeout, 30 * time.Minute},
		{"probe timeout", probeTimeout, 10 * time.Second},
	} {
		if c.got != c.want {
			t.Errorf("%s defaults to %v, documented as %v", c.name, c.got, c.want)
		}
	}
}
