package delta

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
)

// TestBodyReadsAsBufio reads random streams (varints, some overlong, and
// runs of bytes, cut anywhere) through body with buffers small enough to
// refill mid-varint, and through bufio with encoding/binary and io.ReadFull,
// the readers it replaced: values, byte counts and errors agree.
func TestBodyReadsAsBufio(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for round := range 3000 {
		var s []byte
		for range rng.IntN(40) {
			switch rng.IntN(4) {
			case 0:
				s = binary.AppendUvarint(s, rng.Uint64()>>rng.IntN(64))
			case 1:
				s = binary.AppendVarint(s, int64(rng.Uint64())>>rng.IntN(64))
			case 2:
				s = append(s, bytes.Repeat([]byte{0xff}, 11)...) // overflows 64 bits
			default:
				for range rng.IntN(30) {
					s = append(s, byte(rng.Uint32()))
				}
			}
		}
		s = s[:rng.IntN(len(s)+1)]
		size := []int{binary.MaxVarintLen64, 16, 64 << 10}[round%3]
		ops := make([]int, 60) // 0: uvarint, 1: varint, k > 1: readFull of k-2 bytes
		for i := range ops {
			ops[i] = rng.IntN(20)
		}
		// OneByteReader makes body's fill loop read a byte at a time.
		got := newBody(iotest.OneByteReader(bytes.NewReader(s)), size)
		want := bufio.NewReaderSize(bytes.NewReader(s), 16)
		for i, op := range ops {
			var gv, wv int64
			var gerr, werr error
			switch op {
			case 0:
				var g, w uint64
				g, gerr = got.uvarint()
				w, werr = binary.ReadUvarint(want)
				gv, wv = int64(g), int64(w)
			case 1:
				gv, gerr = got.varint()
				wv, werr = binary.ReadVarint(want)
			default:
				gp, wp := make([]byte, op-2), make([]byte, op-2)
				var gn, wn int
				gn, gerr = got.readFull(gp)
				wn, werr = io.ReadFull(want, wp)
				if gn != wn || !bytes.Equal(gp[:gn], wp[:wn]) {
					t.Fatalf("round %d op %d: readFull(%d) took %d bytes %x, io.ReadFull %d bytes %x", round, i, op-2, gn, gp[:gn], wn, wp[:wn])
				}
			}
			if (gerr == nil) != (werr == nil) || errors.Is(gerr, io.EOF) != errors.Is(werr, io.EOF) ||
				errors.Is(gerr, io.ErrUnexpectedEOF) != errors.Is(werr, io.ErrUnexpectedEOF) {
				t.Fatalf("round %d op %d (%d): error %v, the reference's %v", round, i, op, gerr, werr)
			}
			if gerr == nil && gv != wv {
				t.Fatalf("round %d op %d (%d): value %d, the reference's %d", round, i, op, gv, wv)
			}
			if gerr != nil && werr != nil && !errors.Is(werr, io.EOF) && !errors.Is(werr, io.ErrUnexpectedEOF) {
				break // an overflow: neither reader is defined after it
			}
		}
	}
}

// TestBodyPassesSourceErrors: an error of the decoder is what the read
// returns, not io.EOF, also when the error comes with the last bytes.
func TestBodyPassesSourceErrors(t *testing.T) {
	boom := errors.New("frame checksum mismatch")
	b := newBody(iotest.DataErrReader(io.MultiReader(bytes.NewReader([]byte{0x81}), iotest.ErrReader(boom))), 16)
	if _, err := b.uvarint(); !errors.Is(err, boom) {
		t.Fatalf("uvarint over a failing source: %v, want its error", err)
	}
	b = newBody(iotest.ErrReader(boom), 16)
	if _, err := b.readFull(make([]byte, 3)); !errors.Is(err, boom) {
		t.Fatalf("readFull over a failing source: %v, want its error", err)
	}
}
