package delta

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"testing"
)

// TestVersion1Fixture applies a version 1 patch made by the package before
// version 2 existed (testdata/v1.patch, from v1-old.bin to v1-new.bin):
// publishers may still serve such patches, and clients must apply them.
func TestVersion1Fixture(t *testing.T) {
	old, err := os.ReadFile("testdata/v1-old.bin")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/v1-new.bin")
	if err != nil {
		t.Fatal(err)
	}
	patch, err := os.ReadFile("testdata/v1.patch")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	st, err := Apply(context.Background(), bytes.NewReader(old), bytes.NewReader(patch), &out, nil)
	if err != nil {
		t.Fatalf("Apply of the version 1 fixture: %v", err)
	}
	if st.Header.Version != 1 {
		t.Errorf("header version %d, want 1", st.Header.Version)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Fatalf("the version 1 fixture made %d bytes that are not v1-new.bin's %d", out.Len(), len(want))
	}
	// The same pair as this package writes it now: version 2, and it applies.
	p := roundTrip(t, old, want)
	if h, err := ReadHeader(bytes.NewReader(p)); err != nil || h.Version != Version || Version != 2 {
		t.Fatalf("Diff wrote header %+v (%v), want version 2", h, err)
	}
}

// TestWordDifferences checks version 2's word arithmetic where it is
// easiest to get wrong: carries that cross into bytes whose difference is
// zero, words that the new file aligns differently from the old one, and
// partial words at the ends of add runs. It also checks that words pay:
// pointers that all moved by the same amount cost less than as bytes.
func TestWordDifferences(t *testing.T) {
	base := syntheticBinary(256<<10, 41)
	// A table of pointers, each moved by 0x10f1: carries into the second
	// and third bytes of most words, whose own differences are then zero
	// as words but not as bytes.
	table := make([]byte, 64<<10)
	moved := make([]byte, len(table))
	for i := 0; i < len(table); i += 8 {
		p := 0x4000ff + uint64(i)*37
		binary.LittleEndian.PutUint64(table[i:], p)
		binary.LittleEndian.PutUint64(moved[i:], p+0x10f1)
	}
	old := append(append(bytes.Clone(base[:100<<10]), table...), base[100<<10:]...)
	ffOld, ffNew := bytes.Clone(old), bytes.Clone(old)
	for i := 100 << 10; i < 100<<10+len(table); i += 8 {
		// 0x00ffffff + 1: a carry through three 0xff bytes.
		binary.LittleEndian.PutUint64(ffOld[i:], 0x00ffffff)
		binary.LittleEndian.PutUint64(ffNew[i:], 0x01000000)
	}
	cases := []struct {
		name     string
		old, new []byte
	}{
		// Aligned as in old.
		{"pointers moved", old, append(append(bytes.Clone(base[:100<<10]), moved...), base[100<<10:]...)},
		// Three bytes inserted before the table: its words straddle the
		// new file's word boundaries differently from the old file's.
		{"pointers moved and shifted", old, append(append(append(bytes.Clone(base[:100<<10]), 1, 2, 3), moved...), base[100<<10:]...)},
		{"carry through ff", ffOld, ffNew},
		{"edited", old, edit(old, 300, 42)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v2 := roundTrip(t, c.old, c.new)
			var v1 bytes.Buffer
			if err := diff(context.Background(), c.old, c.new, &v1, nil, 1); err != nil {
				t.Fatal(err)
			}
			t.Logf("version 1: %d bytes, version 2: %d bytes", v1.Len(), len(v2))
			if c.name != "edited" && len(v2) >= v1.Len() {
				t.Errorf("version 2 patch is %d bytes, not smaller than version 1's %d", len(v2), v1.Len())
			}
		})
	}
}

// TestAppendDiff pins the version 2 layout: whole aligned words are
// little-endian differences mod 2^64, the partial words at either end are
// byte differences.
func TestAppendDiff(t *testing.T) {
	old := make([]byte, 20)
	nw := make([]byte, 20)
	for i := range nw {
		old[i] = 0xff
		nw[i] = 0xff
	}
	// pos 5: bytes 0-2 are new-file offsets 5-7 (partial), bytes 3-10
	// offsets 8-15 (a word), 11-18 offsets 16-23 (a word), 19 offset 24
	// (partial).
	nw[3], nw[4] = 0x00, 0x00 // word 8-15: 0xff..ffffff -> 0xff..ff0000: -0xffff
	nw[19] = 0x01
	got := appendDiff(nil, old, nw, 5, true)
	want := make([]byte, 20)
	binary.LittleEndian.PutUint64(want[3:], ^uint64(0xffff)+1) // 0xff..ff0000 - 0xff..ffffff, mod 2^64
	want[19] = 0x02
	if !bytes.Equal(got, want) {
		t.Fatalf("appendDiff = %x, want %x", got, want)
	}
	if got := appendDiff(nil, old, nw, 5, false); got[3] != 1 || got[4] != 1 || got[19] != 2 {
		t.Fatalf("byte differences %x", got)
	}
}
