package delta

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// ctl is one control as it goes on the wire, lengths unchecked.
type ctl struct {
	seek       int64
	add, extra uint64
}

// rawBlock encodes a block of byte differences: the record count n, the
// controls, then payload (the difference and extra sections) exactly as
// given.
func rawBlock(n uint64, ctls []ctl, payload []byte) []byte {
	return rawBlockIn(modeBytes, n, ctls, payload)
}

// rawBlockIn is rawBlock in mode m (of the current Version).
func rawBlockIn(m mode, n uint64, ctls []ctl, payload []byte) []byte {
	b := binary.AppendUvarint(nil, n*uint64(modesOf(Version))+uint64(m))
	for _, c := range ctls {
		b = binary.AppendVarint(b, c.seek)
		b = binary.AppendUvarint(b, c.add)
		b = binary.AppendUvarint(b, c.extra)
	}
	return append(b, payload...)
}

// makePatch puts a header and a zstd-compressed body together. Without
// options it uses one shared encoder, which keeps the fuzz targets fast.
func makePatch(t testing.TB, h Header, body []byte, opts ...zstd.EOption) []byte {
	t.Helper()
	hb, err := h.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if len(opts) == 0 {
		return sharedEncoder.EncodeAll(body, hb)
	}
	buf := bytes.NewBuffer(hb)
	enc, err := zstd.NewWriter(buf, append([]zstd.EOption{zstd.WithEncoderCRC(true), zstd.WithZeroFrames(true), zstd.WithWindowSize(Window)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	enc.Write(body)
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var sharedEncoder, _ = zstd.NewWriter(nil, zstd.WithEncoderCRC(true), zstd.WithZeroFrames(true), zstd.WithWindowSize(Window), zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedFastest))

func headerFor(old, new []byte) Header {
	return Header{Version: Version, OldSize: int64(len(old)), OldHash: sha256.Sum256(old), NewSize: int64(len(new)), NewHash: sha256.Sum256(new)}
}

// boundedWriter fails the test if more than max bytes are written to it.
type boundedWriter struct {
	t   testing.TB
	max int64
	bytes.Buffer
}

func (w *boundedWriter) Write(p []byte) (int, error) {
	if int64(w.Len()+len(p)) > w.max {
		w.t.Fatalf("Apply wrote %d bytes, past the %d the header promises", w.Len()+len(p), w.max)
	}
	return w.Buffer.Write(p)
}

// apply runs Apply with an output bounded by the header's new size (or
// max, if the header cannot be read).
func apply(t testing.TB, old, patch []byte, opts *ApplyOptions) ([]byte, error) {
	t.Helper()
	limit := int64(1 << 30)
	if h, err := ReadHeader(bytes.NewReader(patch)); err == nil {
		limit = h.NewSize
	}
	out := &boundedWriter{t: t, max: limit}
	_, err := Apply(context.Background(), bytes.NewReader(old), bytes.NewReader(patch), out, opts)
	return out.Bytes(), err
}

// typed tells whether err wraps one of the package's sentinels.
func typed(err error) bool {
	for _, s := range []error{ErrCorrupt, ErrVersion, ErrOldMismatch, ErrResultMismatch, ErrTooLarge} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

func TestHostilePatches(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	old := make([]byte, 4096)
	for i := range old {
		old[i] = byte(rng.Uint32())
	}
	new := append(bytes.Clone(old[100:200]), "extra!"...) // what the good block makes
	good := rawBlock(2, []ctl{{100, 100, 0}, {0, 0, 6}}, append(appendRuns(nil, make([]byte, 100)), "extra!"...))
	uv := func(ns ...uint64) (b []byte) {
		for _, n := range ns {
			b = binary.AppendUvarint(b, n)
		}
		return b
	}
	h := headerFor(old, new)
	if got, err := apply(t, old, makePatch(t, h, good), nil); err != nil || !bytes.Equal(got, new) {
		t.Fatalf("the well-formed patch the cases start from: %v", err)
	}
	big := Header{Version: Version, OldSize: h.OldSize, OldHash: h.OldHash, NewSize: 1 << 30, NewHash: h.NewHash}
	wrongNew := h
	wrongNew.NewHash[0] ^= 1

	cases := []struct {
		name string
		h    Header
		body []byte
		want error
		msg  string // in the error's text
	}{
		{"huge add", big, rawBlock(1, []ctl{{0, 1 << 62, 0}}, nil), ErrCorrupt, "fit the block"},
		{"huge extra", big, rawBlock(1, []ctl{{0, 0, 1 << 62}}, nil), ErrCorrupt, "fit the block"},
		{"add and extra overflow together", big, rawBlock(1, []ctl{{0, 1 << 63, 1 << 63}}, nil), ErrCorrupt, "fit the block"},
		{"negative seek", h, rawBlock(1, []ctl{{-1, 10, 0}}, make([]byte, 10)), ErrCorrupt, "seeks -1"},
		{"seek past old end", h, rawBlock(1, []ctl{{4097, 1, 0}}, []byte{0}), ErrCorrupt, "outside the old file"},
		{"huge negative seek", h, rawBlock(1, []ctl{{-1 << 62, 1, 0}}, []byte{0}), ErrCorrupt, "outside the old file"},
		{"add past old end", h, rawBlock(1, []ctl{{4090, 10, 0}}, make([]byte, 10)), ErrCorrupt, "past the old file"},
		{"more than promised in one block", h, rawBlock(1, []ctl{{0, 0, 107}}, make([]byte, 107)), ErrCorrupt, "fit the block"},
		{"more than promised in a second block", h, append(rawBlock(1, []ctl{{0, 0, 100}}, make([]byte, 100)), rawBlock(1, []ctl{{0, 0, 7}}, make([]byte, 7))...), ErrCorrupt, "fit the block"},
		{"block larger than BlockSize", big, rawBlock(1, []ctl{{0, 0, BlockSize + 1}}, nil), ErrCorrupt, "fit the block"},
		{"difference runs past the add bytes", h, rawBlock(2, []ctl{{100, 100, 0}, {0, 0, 6}}, uv(101, 0)), ErrCorrupt, "difference runs of 101+0"},
		{"literal differences past the add bytes", h, rawBlock(2, []ctl{{100, 100, 0}, {0, 0, 6}}, append(uv(0, 101), make([]byte, 101)...)), ErrCorrupt, "difference runs of 0+101"},
		{"huge difference run", h, rawBlock(2, []ctl{{100, 100, 0}, {0, 0, 6}}, uv(50, 1<<62)), ErrCorrupt, "difference runs"},
		{"empty difference run", h, rawBlock(2, []ctl{{100, 100, 0}, {0, 0, 6}}, uv(0, 0)), ErrCorrupt, "difference runs of 0+0"},
		{"empty record", h, rawBlock(2, []ctl{{0, 0, 0}, {100, 100, 6}}, nil), ErrCorrupt, "empty"},
		{"block of no records", h, rawBlock(0, nil, nil), ErrCorrupt, "0 records"},
		{"block of too many records", big, rawBlock(MaxBlockRecords+1, nil, nil), ErrCorrupt, "records"},
		{"word block of no records", h, []byte{1}, ErrCorrupt, "0 records"},
		{"varint past 64 bits", h, append([]byte{byte(modesOf(Version))}, bytes.Repeat([]byte{0xff}, 11)...), ErrCorrupt, "decoding"},
		{"empty body", h, nil, ErrCorrupt, "truncated"},
		{"truncated controls", h, good[:3], ErrCorrupt, "truncated"},
		{"truncated extra bytes", h, good[:len(good)-1], ErrCorrupt, "truncated"},
		{"data after the last block", h, append(bytes.Clone(good), 0), ErrCorrupt, "after the last block"},
		{"another block after the last", h, append(bytes.Clone(good), rawBlock(1, []ctl{{0, 0, 1}}, []byte{1})...), ErrCorrupt, "after the last block"},
		{"wrong result", wrongNew, good, ErrResultMismatch, "header promises"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := apply(t, old, makePatch(t, c.h, c.body), nil)
			if !errors.Is(err, c.want) {
				t.Fatalf("Apply: %v, want %v", err, c.want)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("Apply: %q does not say %q", err, c.msg)
			}
		})
	}

	t.Run("garbage after the zstd stream", func(t *testing.T) {
		_, err := apply(t, old, append(makePatch(t, h, good), "garbage"...), nil)
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Apply: %v, want ErrCorrupt", err)
		}
	})
	t.Run("zstd window over the limit", func(t *testing.T) {
		// 2 MiB of output in one block each, with an 8 MiB window declared.
		n := 2 * BlockSize
		payload := make([]byte, n)
		for i := range payload {
			payload[i] = byte(rng.Uint32())
		}
		var body []byte
		for off := 0; off < n; off += BlockSize {
			body = append(body, rawBlock(1, []ctl{{0, 0, BlockSize}}, payload[off:off+BlockSize])...)
		}
		hw := headerFor(old, payload)
		patch := makePatch(t, hw, body, zstd.WithWindowSize(8<<20))
		_, err := apply(t, old, patch, nil)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "window") {
			t.Fatalf("Apply: %v, want ErrCorrupt for the window", err)
		}
		if got, err := apply(t, old, makePatch(t, hw, body), nil); err != nil || !bytes.Equal(got, payload) {
			t.Fatalf("the same body with the allowed window: %v", err)
		}
	})
	t.Run("new size over the limit", func(t *testing.T) {
		_, err := apply(t, old, makePatch(t, h, good), &ApplyOptions{MaxNewSize: 50})
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("Apply: %v, want ErrTooLarge", err)
		}
	})
}

func TestHeaderChecks(t *testing.T) {
	h := headerFor([]byte("old"), []byte("new"))
	hb, _ := h.MarshalBinary()
	if len(hb) != HeaderSize {
		t.Fatalf("header is %d bytes, want %d", len(hb), HeaderSize)
	}
	got, err := ReadHeader(bytes.NewReader(hb))
	if err != nil || got != h {
		t.Fatalf("ReadHeader = %v, %v; want %v", got, err, h)
	}
	mod := func(f func(b []byte), fixCRC bool) []byte {
		b := bytes.Clone(hb)
		f(b)
		if fixCRC {
			binary.BigEndian.PutUint32(b[92:], crc32c(b[:92]))
		}
		return b
	}
	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"short", hb[:50], ErrCorrupt},
		{"empty", nil, ErrCorrupt},
		{"magic", mod(func(b []byte) { b[0] = 'X' }, true), ErrCorrupt},
		{"the next version", mod(func(b []byte) { b[9] = Version + 1 }, true), ErrVersion},
		{"version 0", mod(func(b []byte) { b[9] = 0 }, true), ErrVersion},
		{"a flag", mod(func(b []byte) { b[11] = 1 }, true), ErrVersion},
		{"checksum", mod(func(b []byte) { b[30] ^= 4 }, false), ErrCorrupt},
		{"impossible size", mod(func(b []byte) { b[52] = 0x80 }, true), ErrCorrupt},
	}
	for _, c := range cases {
		if _, err := ReadHeader(bytes.NewReader(c.b)); !errors.Is(err, c.want) {
			t.Errorf("%s: ReadHeader: %v, want %v", c.name, err, c.want)
		}
	}
}

func TestOldMismatch(t *testing.T) {
	old := syntheticBinary(64<<10, 9)
	new := edit(old, 30, 10)
	patch := diffOf(t, old, new)
	other := bytes.Clone(old)
	other[1000] ^= 1
	for _, c := range []struct {
		name string
		old  []byte
	}{
		{"same size, other bytes", other},
		{"shorter", old[:len(old)-1]},
		{"longer", append(bytes.Clone(old), 0)},
		{"empty", nil},
	} {
		_, err := apply(t, c.old, patch, nil)
		if !errors.Is(err, ErrOldMismatch) {
			t.Errorf("%s: Apply: %v, want ErrOldMismatch", c.name, err)
		}
	}
	// Told to trust the old file, Apply notices only at the end: the output
	// is wrong, and the error says so.
	if _, err := apply(t, other, patch, &ApplyOptions{TrustOld: true}); !errors.Is(err, ErrResultMismatch) {
		t.Errorf("trusted wrong old: Apply: %v, want ErrResultMismatch", err)
	}
	// A trusted old file shorter than the header says is found while reading.
	if _, err := apply(t, old[:len(old)/2], patch, &ApplyOptions{TrustOld: true}); !errors.Is(err, ErrOldMismatch) {
		t.Errorf("trusted short old: Apply: %v, want ErrOldMismatch", err)
	}
}

func TestTruncatedAndFlipped(t *testing.T) {
	old := syntheticBinary(32<<10, 13)
	new := edit(old, 10, 14)
	var buf bytes.Buffer
	if err := Diff(old, new, &buf, nil); err != nil {
		t.Fatal(err)
	}
	patch := buf.Bytes()
	for n := 0; n < len(patch); n++ {
		_, err := apply(t, old, patch[:n], nil)
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("patch cut to %d of %d bytes: Apply: %v, want ErrCorrupt", n, len(patch), err)
		}
	}
	accepted, step := 0, 1
	if testing.Short() || raceEnabled {
		step = 7 // every Apply makes a decoder: a sample of the bits is enough there
	}
	for i := 0; i < len(patch)*8; i += step {
		p := bytes.Clone(patch)
		p[i/8] ^= 1 << (i % 8)
		got, err := apply(t, old, p, nil)
		switch {
		case err == nil && !bytes.Equal(got, new):
			t.Fatalf("bit %d flipped: Apply accepted a wrong output", i)
		case err == nil:
			accepted++ // a bit zstd does not need, such as in the window size
		case !typed(err):
			t.Fatalf("bit %d flipped: Apply: %v, want one of the package's errors", i, err)
		case i < HeaderSize*8 && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrVersion):
			t.Fatalf("bit %d of the header flipped: Apply: %v, want ErrCorrupt", i, err)
		}
	}
	t.Logf("%d bit flips of %d bytes tried; %d left the output right", (len(patch)*8+step-1)/step, len(patch), accepted)
}

func TestApplyErrorsPassedOn(t *testing.T) {
	old := syntheticBinary(256<<10, 15)
	new := edit(old, 100, 16)
	patch := diffOf(t, old, new)
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := Apply(ctx, bytes.NewReader(old), bytes.NewReader(patch), &bytes.Buffer{}, nil)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Apply: %v, want context.Canceled", err)
		}
	})
	t.Run("cancelled midway", func(t *testing.T) {
		old := syntheticBinary(3*BlockSize, 17)
		new := edit(old, 100, 18)
		patch := diffOf(t, old, new)
		ctx, cancel := context.WithCancel(context.Background())
		w := &cancellingWriter{cancel: cancel}
		_, err := Apply(ctx, bytes.NewReader(old), bytes.NewReader(patch), w, nil)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Apply: %v, want context.Canceled", err)
		}
		if w.n >= len(new) {
			t.Fatalf("Apply wrote all %d bytes after the context was cancelled", w.n)
		}
	})
	t.Run("patch read error", func(t *testing.T) {
		boom := errors.New("network down")
		r := &failingReader{r: bytes.NewReader(patch), after: HeaderSize + 100, err: boom}
		_, err := Apply(context.Background(), bytes.NewReader(old), r, &bytes.Buffer{}, nil)
		if !errors.Is(err, boom) || errors.Is(err, ErrCorrupt) {
			t.Fatalf("Apply: %v, want the reader's own error, not ErrCorrupt", err)
		}
	})
	t.Run("write error", func(t *testing.T) {
		boom := errors.New("disk full")
		_, err := Apply(context.Background(), bytes.NewReader(old), bytes.NewReader(patch), failingWriter{boom}, nil)
		if !errors.Is(err, boom) {
			t.Fatalf("Apply: %v, want the writer's error", err)
		}
	})
}

type failingReader struct {
	r     *bytes.Reader
	after int
	err   error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, f.err
	}
	p = p[:min(len(p), f.after)]
	n, err := f.r.Read(p)
	f.after -= n
	return n, err
}

// cancellingWriter cancels its context at the first write.
type cancellingWriter struct {
	cancel func()
	n      int
}

func (w *cancellingWriter) Write(p []byte) (int, error) {
	w.cancel()
	w.n += len(p)
	return len(p), nil
}

type failingWriter struct{ err error }

func (f failingWriter) Write([]byte) (int, error) { return 0, f.err }
