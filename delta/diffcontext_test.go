package delta

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// cancelOnWrite cancels its context at its first write, which is Diff's
// header: the scan after it must stop.
type cancelOnWrite struct {
	cancel context.CancelFunc
	bytes.Buffer
}

func (w *cancelOnWrite) Write(p []byte) (int, error) {
	w.cancel()
	return w.Buffer.Write(p)
}

func TestDiffContextStops(t *testing.T) {
	old := syntheticBinary(1<<20, 1)
	new := edit(old, 200, 3)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var none bytes.Buffer
	if err := DiffContext(ctx, old, new, &none, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled context: %v, want context.Canceled", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	w := &cancelOnWrite{cancel: cancel}
	if err := DiffContext(ctx, old, new, w, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled during the scan: %v, want context.Canceled", err)
	}
	// What it wrote is not a patch.
	var out bytes.Buffer
	if _, err := Apply(context.Background(), bytes.NewReader(old), bytes.NewReader(w.Bytes()), &out, nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("applying what a stopped Diff wrote: %v, want ErrCorrupt", err)
	}

	// Not cancelled, it is Diff.
	var a, b bytes.Buffer
	if err := DiffContext(context.Background(), old, new, &a, nil); err != nil {
		t.Fatal(err)
	}
	if err := Diff(old, new, &b, nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("DiffContext and Diff make different patches")
	}
}
