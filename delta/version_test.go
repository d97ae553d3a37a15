package delta

import (
	"bytes"
	"context"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// TestVersionFixtures applies patches made by earlier builds of the
// package (testdata/NAME.patch, from NAME-old.bin to NAME-new.bin):
// publishers may still serve such patches, and clients must apply them,
// so a change to how Apply decodes a version must keep these working. The
// version 2 fixture's block holds word differences, the one thing version
// 2 added; the version 3 ones are code-mode blocks, of made-up calls and
// LEAs (v3-code) and of 96 KiB of pkgserver's real .text at two commits
// (v3-text), made before the code mode's field scan was rewritten.
func TestVersionFixtures(t *testing.T) {
	for _, c := range []struct {
		name    string
		version int
		mode    mode
	}{{"v1", 1, modeBytes}, {"v2", 2, modeWords}, {"v3-code", 3, modeCode}, {"v3-text", 3, modeCode}} {
		t.Run(c.name, func(t *testing.T) {
			read := func(suffix string) []byte {
				b, err := os.ReadFile("testdata/" + c.name + suffix)
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			old, want, patch := read("-old.bin"), read("-new.bin"), read(".patch")
			if got := firstBlockMode(t, patch, c.version); got != c.mode {
				t.Fatalf("the fixture's first block is in mode %d, want %d", got, c.mode)
			}
			var out bytes.Buffer
			st, err := Apply(context.Background(), bytes.NewReader(old), bytes.NewReader(patch), &out, nil)
			if err != nil {
				t.Fatalf("Apply of the %s fixture: %v", c.name, err)
			}
			if st.Header.Version != c.version {
				t.Errorf("header version %d, want %d", st.Header.Version, c.version)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Fatalf("the %s fixture made %d bytes that are not %s-new.bin's %d", c.name, out.Len(), c.name, len(want))
			}
			// The same pair as this package writes it now, in each version,
			// with blocks as Diff cuts them and as large as the format
			// allows (as Diff cut them before).
			for v := 1; v <= Version; v++ {
				for _, size := range []int{diffBlockSize, BlockSize} {
					var p bytes.Buffer
					if err := diff(context.Background(), old, want, &p, nil, layout{v, size}); err != nil {
						t.Fatal(err)
					}
					roundTripPatch(t, old, want, p.Bytes())
				}
			}
		})
	}
	if Version != 3 {
		t.Fatalf("Version is %d: add a fixture of version %d before moving on", Version, Version)
	}
}

// firstBlockMode decodes a patch's first record count and returns the mode
// it names.
func firstBlockMode(t *testing.T, patch []byte, version int) mode {
	t.Helper()
	dec, err := zstd.NewReader(bytes.NewReader(patch[HeaderSize:]))
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	var head [binary.MaxVarintLen64]byte
	n, _ := dec.Read(head[:])
	count, k := binary.Uvarint(head[:n])
	if k <= 0 {
		t.Fatalf("no record count at the start of the body")
	}
	return mode(count % uint64(modesOf(version)))
}

// TestModesPay checks that each mode wins where it is meant to: words on
// pointers that all moved by the same amount (with carries that cross into
// bytes whose own difference is zero, and words the new file aligns
// differently), code on calls and RIP-relative addresses whose targets
// moved (TestTableMode checks tables apart). Each case's patch
// in the version that added the mode must be smaller than in the version
// before, and all of them apply (roundTrip).
func TestModesPay(t *testing.T) {
	base := syntheticBinary(256<<10, 41)
	at := 100 << 10
	splice := func(b, mid []byte, gap ...byte) []byte {
		return append(append(append(bytes.Clone(b[:at]), gap...), mid...), b[at:]...)
	}
	pointers := func(moved uint64) []byte {
		t := make([]byte, 64<<10)
		for i := 0; i < len(t); i += 8 {
			binary.LittleEndian.PutUint64(t[i:], 0x4000ff+uint64(i)*37+moved)
		}
		return t
	}
	ffOld, ffNew := make([]byte, 64<<10), make([]byte, 64<<10)
	for i := 0; i < len(ffOld); i += 8 {
		// 0x00ffffff + 1: a carry through three 0xff bytes.
		binary.LittleEndian.PutUint64(ffOld[i:], 0x00ffffff)
		binary.LittleEndian.PutUint64(ffNew[i:], 0x01000000)
	}
	codeOld, codeNew := movedCode(4000, 1)
	cases := []struct {
		name     string
		old, new []byte
		version  int // the version whose mode must pay
	}{
		{"pointers moved", splice(base, pointers(0)), splice(base, pointers(0x10f1)), 2},
		{"pointers moved and shifted", splice(base, pointers(0)), splice(base, pointers(0x10f1), 1, 2, 3), 2},
		{"carry through ff", splice(base, ffOld), splice(base, ffNew), 2},
		{"code whose targets moved", codeOld, codeNew, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			now := roundTrip(t, c.old, c.new)
			var before bytes.Buffer
			if err := diff(context.Background(), c.old, c.new, &before, nil, layout{c.version - 1, diffBlockSize}); err != nil {
				t.Fatal(err)
			}
			roundTripPatch(t, c.old, c.new, before.Bytes())
			t.Logf("version %d: %d bytes, version %d: %d bytes", c.version-1, before.Len(), Version, len(now))
			if len(now) >= before.Len() {
				t.Errorf("version %d patch is %d bytes, not smaller than version %d's %d", Version, len(now), c.version-1, before.Len())
			}
		})
	}
}

// movedCode makes a stretch of amd64-like code with n instructions, half
// of them calls or RIP-relative LEAs into a table of targets after it, and
// the same code after one function early on grew by 40 bytes and a symbol
// in the middle of the targets by 24: every field past a growth changes.
func movedCode(n int, seed uint64) (old, new []byte) {
	rng := rand.New(rand.NewPCG(seed, seed+7))
	type insn struct {
		kind   int // 0 filler, 1 call, 2 lea
		target int // index of the target
		filler []byte
	}
	prog := make([]insn, n)
	for i := range prog {
		prog[i] = insn{kind: rng.IntN(3), target: rng.IntN(512)}
		if prog[i].kind == 0 {
			prog[i].filler = []byte{0x48, 0x89, byte(0xc0 + rng.IntN(64))} // MOVQ reg, reg
		}
	}
	build := func(grow, growTarget int) []byte {
		// Targets: 512 symbols of 64 bytes, after the code; the one in the
		// middle grows by growTarget.
		var code []byte
		for i, in := range prog {
			if i == 10 {
				code = append(code, make([]byte, grow)...)
			}
			switch in.kind {
			case 0:
				code = append(code, in.filler...)
			case 1:
				code = append(code, 0xE8, 0, 0, 0, 0)
			case 2:
				code = append(code, 0x48, 0x8D, 0x05, 0, 0, 0, 0)
			}
		}
		start := len(code) + 64
		sym := func(k int) int {
			s := start + 64*k
			if k > 256 {
				s += growTarget
			}
			return s
		}
		// Fill in the fields, now that every place is known.
		pc := 0
		for i, in := range prog {
			if i == 10 {
				pc += grow
			}
			switch in.kind {
			case 0:
				pc += len(in.filler)
			case 1:
				binary.LittleEndian.PutUint32(code[pc+1:], uint32(sym(in.target)-(pc+5)))
				pc += 5
			case 2:
				binary.LittleEndian.PutUint32(code[pc+3:], uint32(sym(in.target)-(pc+7)))
				pc += 7
			}
		}
		return append(code, make([]byte, sym(511)+64-len(code))...)
	}
	return build(0, 0), build(40, 24)
}

// movedTable makes n records of three 32-bit offsets, shaped like Go's
// tables: into the names, the pc tables and the files, each kind in a
// range of its own; and the same after some names, pc tables and files
// grew, every fiftieth or so. Every offset past a growth moves by it, each
// kind at its own places, and at 12 bytes a record a 64-bit word pairs
// different fields from one record to the next. (A constant among the
// offsets, in the range of one kind, costs the table mode a wrong guess
// at each; on real binaries it still wins, see the package doc.)
func movedTable(n int, seed uint64) (old, new []byte) {
	rng := rand.New(rand.NewPCG(seed, seed+9))
	type entry struct{ name, pc, file int }
	es := make([]entry, n)
	for i := range es {
		es[i] = entry{8 + rng.IntN(40), 20 + rng.IntN(300), 4 + rng.IntN(8)}
	}
	build := func(grow bool) []byte {
		b := make([]byte, 0, 12*n)
		name, pc, file := 0, 1<<24, 2<<24
		for i, e := range es {
			b = binary.LittleEndian.AppendUint32(b, uint32(name))
			b = binary.LittleEndian.AppendUint32(b, uint32(pc))
			b = binary.LittleEndian.AppendUint32(b, uint32(file))
			name, pc, file = name+e.name, pc+e.pc, file+e.file
			if grow && i%61 == 3 {
				name += 1 + i%9
			}
			if grow && i%47 == 5 {
				pc += 1 + i%13
			}
			if grow && i%53 == 9 {
				file += 1 + i%3
			}
		}
		return b
	}
	return build(false), build(true)
}

// TestTableMode checks the table mode where it is meant to win: 32-bit
// offsets that moved by stretch leave it almost only zero differences,
// while as 64-bit words every word past a growth differs.
func TestTableMode(t *testing.T) {
	old, nw := movedTable(16<<10, 2)
	nonzero := func(m mode) int {
		var p predictor
		x := bytes.Clone(nw)
		p.convert(m, old, x, 0, 0, false)
		n := 0
		for i := 0; i < len(x); i += 4 {
			if binary.LittleEndian.Uint32(x[i:]) != 0 {
				n++
			}
		}
		return n
	}
	words, tables := nonzero(modeWords), nonzero(modeTables)
	t.Logf("32-bit words that differ: %d as 64-bit words, %d as tables", words, tables)
	if tables*10 > words {
		t.Errorf("the table mode leaves %d of %d 32-bit words nonzero, the word mode %d: want a tenth at most", tables, len(nw)/4, words)
	}
}

// TestModesInvert checks that decoding undoes encoding in every mode, at
// every alignment, with the predictor's tables in step across calls, on
// data made to hit the code and table fields.
func TestModesInvert(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	fieldy := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			switch rng.IntN(6) {
			case 0:
				b[i] = 0xE8
			case 1:
				b[i] = 0x0F
			case 2:
				b[i] = 0x05
			case 3:
				b[i] = 0x8D
			default:
				b[i] = byte(rng.Uint32())
			}
		}
		return b
	}
	for m := range modes {
		var enc, dec predictor
		for round := range 200 {
			n := rng.IntN(300)
			old, nw := fieldy(n), fieldy(n)
			if round%2 == 0 {
				copy(nw, old) // mostly the same, as in a real add run
				for range 3 {
					if n > 0 {
						nw[rng.IntN(n)]++
					}
				}
			}
			oldPos, newPos := int64(rng.IntN(1<<30)), int64(rng.IntN(1<<30))
			x := bytes.Clone(nw)
			enc.convert(m, old, x, oldPos, newPos, false)
			made := bytes.Clone(old)
			dec.convert(m, made, x, oldPos, newPos, true)
			if !bytes.Equal(made, nw) {
				t.Fatalf("mode %d, round %d: decode(encode(new)) differs from new", m, round)
			}
		}
		if enc != dec {
			t.Fatalf("mode %d: the encoder and decoder learned different tables", m)
		}
	}
}

// TestWordLayout pins the word mode's layout: whole aligned words are
// little-endian differences mod 2^64, the partial words at either end are
// byte differences.
func TestWordLayout(t *testing.T) {
	old := bytes.Repeat([]byte{0xff}, 20)
	nw := bytes.Repeat([]byte{0xff}, 20)
	// pos 5: bytes 0-2 are new-file offsets 5-7 (partial), bytes 3-10
	// offsets 8-15 (a word), 11-18 offsets 16-23 (a word), 19 offset 24
	// (partial).
	nw[3], nw[4] = 0x00, 0x00 // word 8-15: 0xff..ffffff -> 0xff..ff0000: -0xffff
	nw[19] = 0x01
	var p predictor
	got := bytes.Clone(nw)
	p.convert(modeWords, old, got, 0, 5, false)
	want := make([]byte, 20)
	binary.LittleEndian.PutUint64(want[3:], ^uint64(0xffff)+1) // 0xff..ff0000 - 0xff..ffffff, mod 2^64
	want[19] = 0x02
	if !bytes.Equal(got, want) {
		t.Fatalf("word differences %x, want %x", got, want)
	}
	got = bytes.Clone(nw)
	if p.convert(modeBytes, old, got, 0, 5, false); got[3] != 1 || got[4] != 1 || got[19] != 2 {
		t.Fatalf("byte differences %x", got)
	}
}

// TestCandidates: every two bytes that fieldAt takes for the start of an
// instruction with a rel32 field are named by candidates, in each of the
// eight places of a word and whatever bytes are around them, so the code
// mode's skip over ruled-out words never passes a field.
func TestCandidates(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var b [9]byte
	for pair := range 1 << 16 {
		if fieldAt[pair] == 0 {
			continue
		}
		for lane := range 8 {
			for range 4 {
				for i := range b {
					b[i] = byte(rng.Uint32())
				}
				b[lane], b[lane+1] = byte(pair), byte(pair>>8)
				c := candidates(binary.LittleEndian.Uint64(b[:]), binary.LittleEndian.Uint64(b[1:]))
				if c&(0x80<<(8*lane)) == 0 {
					t.Fatalf("% x at byte %d of % x: a field's start that candidates rules out", b[lane:lane+2], lane, b[:8])
				}
			}
		}
	}
}
