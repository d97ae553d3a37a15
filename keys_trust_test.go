package update

import (
	"errors"
	"math"
	"testing"

	"github.com/molt-go/update/source"
)

func TestAdmitKeyEpoch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                   string
		seenSerial, seenEpoch  int64
		serial, epochIn        int64
		wantFloor, wantEpoch   int64
		wantReplayed, admitted bool
	}{
		{name: "no hierarchy keeps the serial rule", seenSerial: 100, serial: 101, wantFloor: 100, admitted: true},
		{name: "no hierarchy replay", seenSerial: 100, serial: 99, wantFloor: 100},
		{name: "no epoch keeps the epoch seen", seenSerial: 100, seenEpoch: 3, serial: 100, wantFloor: 100, wantEpoch: 3, admitted: true},
		{name: "same epoch, newer serial", seenSerial: 100, seenEpoch: 3, serial: 150, epochIn: 3, wantFloor: 100, wantEpoch: 3, admitted: true},
		{name: "same epoch, replayed serial", seenSerial: 100, seenEpoch: 3, serial: 99, epochIn: 3, wantFloor: 100, wantEpoch: 3},
		// The fast-forward attack: a stolen key of epoch 2 pushed the serial
		// to the top; the key that replaced it (epoch 4) starts afresh.
		{name: "fast-forward after rotation", seenSerial: math.MaxInt64, seenEpoch: 2, serial: 1_767_225_600, epochIn: 4, wantFloor: 0, wantEpoch: 4, admitted: true},
		{name: "first hierarchy feed after legacy", seenSerial: 100, serial: 50, epochIn: 2, wantFloor: 0, wantEpoch: 2, admitted: true},
		// A replay of a key list with the revoked key, and a feed it signed.
		{name: "rollback to an older key's epoch", seenSerial: 100, seenEpoch: 4, serial: math.MaxInt64, epochIn: 2, wantReplayed: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := &source.Listing{Origin: "https://example.com/hello/feed.json", Serial: tc.serial, KeyEpoch: tc.epochIn}
			floor, epoch, err := admitKeyEpoch(tc.seenSerial, tc.seenEpoch, l)
			if tc.wantReplayed {
				if !errors.Is(err, ErrReplayed) {
					t.Fatalf("err = %v, want ErrReplayed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if floor != tc.wantFloor || epoch != tc.wantEpoch {
				t.Errorf("floor, epoch = %d, %d; want %d, %d", floor, epoch, tc.wantFloor, tc.wantEpoch)
			}
			if got := l.Serial >= floor; got != tc.admitted {
				t.Errorf("serial %d against floor %d: admitted %v, want %v", l.Serial, floor, got, tc.admitted)
			}
		})
	}
}
