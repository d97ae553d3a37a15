package delta

import "encoding/binary"

// A mode is how one block writes the differences of its add bytes from the
// old bytes they start from. Diff tries every mode the format version
// allows on each block and keeps the one that compresses smallest; Apply
// reads the block's mode from its record count (see the package doc).
type mode uint8

const (
	modeBytes  mode = iota // each new byte minus its old byte (version 1)
	modeWords              // aligned 64-bit words minus their old words (version 2)
	modeCode               // x86-64 rel32 fields predicted from moved targets (version 3)
	modeTables             // aligned 32-bit words predicted from moved values (version 3)
	modes                  // how many there are
)

// modesOf is how many modes a format version has: its blocks' record
// counts carry the mode in their low bits (none in version 1, one bit in
// version 2, two in version 3).
func modesOf(version int) int {
	switch version {
	case 1:
		return 1
	case 2:
		return 2
	}
	return int(modes)
}

// shiftBits is the granularity of what a predictor learns: the targets (or
// values) in one 4 KiB stretch of the old file moved by the same amount.
// Go's linker lays out functions and data symbol by symbol, so a change
// shifts whole stretches; on pkgserver at adjacent commits, 4 KiB made
// code's differences 11 kB where 256 bytes made 24 kB and 16 KiB 10.5 kB,
// and 32-bit table words 53 kB where 256 bytes made 61 kB.
const shiftBits = 12

// shiftSlots is the size of each table of learned shifts, direct-mapped:
// 64 Ki slots of 4 KiB cover 256 MiB of targets before two stretches share
// a slot (which costs only a worse guess), in 256 KiB a table.
const shiftSlots = 1 << 16

// predictor is what modeCode and modeTables have learned so far in a
// patch: for each stretch of targets (or values), how far it last moved.
// Diff and Apply keep one each, updated by the same blocks in the same
// order, so their guesses agree; the difference stored for a field is the
// new value minus the guess, zero whenever the guess is right.
type predictor struct {
	code   [shiftSlots]uint32 // rel32 targets: new target - old target
	tables [shiftSlots]uint32 // 32-bit words: new value - old value
}

// ripOps are the opcodes (after any prefix) whose ModRM byte may address
// memory relative to the instruction (mod 00, r/m 101: ModRM&0xC7 == 5),
// followed by a 32-bit displacement. They are the ones found before
// changed displacements in Go's amd64 code: LEA, MOV, CMP, MOVZX, the SSE
// moves, and the immediate groups; a byte taken for one by mistake only
// makes a worse guess.
var ripOps = [256]bool{
	0x10: true, 0x11: true, 0x28: true, 0x29: true, 0x2E: true, 0x38: true, 0x39: true, 0x3A: true,
	0x3B: true, 0x63: true, 0x6F: true, 0x7F: true, 0x80: true, 0x81: true, 0x83: true, 0x84: true,
	0x85: true, 0x88: true, 0x89: true, 0x8B: true, 0x8D: true, 0xB6: true, 0xB7: true, 0xC6: true,
	0xC7: true, 0xF7: true, 0xFF: true,
}

// fieldAt tells, for each two bytes an instruction may start with (the
// first in the low byte), how far past its start its rel32 field begins:
// 1 for CALL or JMP (E8, E9), 2 for a Jcc (0F 8x) or an opcode of ripOps
// whose ModRM names RIP, 0 for none. One lookup of two bytes passes over
// most bytes at once, where testing the opcode and then its ModRM was a
// hard-to-predict branch on every MOV: the field scan ran 1.4 times as
// fast on pkgserver's .text. 64 KiB, made at start.
var fieldAt = func() (t [1 << 16]uint8) {
	for op := range 256 {
		for next := range 256 {
			switch {
			case op == 0xE8 || op == 0xE9:
				t[op|next<<8] = 1
			case op == 0x0F && next&0xF0 == 0x80, ripOps[op] && next&0xC7 == 0x05:
				t[op|next<<8] = 2
			}
		}
	}
	return t
}()

// convert turns the add bytes of one record into differences, or back.
// To encode (decode false), x holds the new bytes and becomes their
// differences from old. To decode, x holds the differences and old becomes
// the new bytes, in place: each old byte is read before it is written, and
// what decides a mode's fields is read ahead of the writing. old starts at
// oldPos in the old file; the record's output starts at newPos in the new
// file. It is the one definition of every mode, for Diff and Apply alike.
func (p *predictor) convert(m mode, old, x []byte, oldPos, newPos int64, decode bool) {
	if decode && (m == modeBytes || m == modeWords) {
		addWordsOrBytes(m, old, x, newPos)
		return
	}
	n := len(x)
	old = old[:n]
	// Bytes that are no mode's fields are byte differences.
	sub := func(from, to int) {
		if decode {
			addWordsOrBytes(modeBytes, old[from:to], x[from:to], 0)
			return
		}
		for i := from; i < to; i++ {
			x[i] -= old[i]
		}
	}
	// field32 turns the 32-bit field at i into its difference from guess,
	// or back, and returns the field's new value.
	field32 := func(i int, guess uint32) uint32 {
		if decode {
			v := guess + binary.LittleEndian.Uint32(x[i:])
			binary.LittleEndian.PutUint32(old[i:], v)
			return v
		}
		v := binary.LittleEndian.Uint32(x[i:])
		binary.LittleEndian.PutUint32(x[i:], v-guess)
		return v
	}
	switch m {
	case modeBytes:
		sub(0, n)
	case modeWords:
		// Words start at multiples of 8 in the new file and lie wholly in
		// the record; the bytes of partial words at either end are bytes.
		i := min(int(-newPos&7), n)
		sub(0, i)
		for ; i+8 <= n; i += 8 {
			binary.LittleEndian.PutUint64(x[i:], binary.LittleEndian.Uint64(x[i:])-binary.LittleEndian.Uint64(old[i:]))
		}
		sub(i, n)
	case modeCode:
		p.codeFields(old, x, oldPos, newPos, decode)
		sub(0, n)
	case modeTables:
		// Go's tables (pclntab's offsets, type and name offsets) hold
		// 32-bit values that moved by the same amount as their neighbours:
		// the value picks a slot, and the guess is that it moved as that
		// slot's values last did.
		i := min(int(-newPos&3), n)
		sub(0, i)
		for ; i+4 <= n; i += 4 {
			o := binary.LittleEndian.Uint32(old[i:])
			slot := &p.tables[(o>>shiftBits)%shiftSlots]
			v := field32(i, o+*slot)
			*slot = v - o
		}
		sub(i, n)
	}
}

// codeFields is the first of modeCode's two passes; the second is byte
// differences over the whole record (convert). A rel32 field points at its
// instruction's end plus its value. The target, counted from the field in
// the old file, picks a slot; the guess is that the target moved as its
// stretch last did, and the new field points there from the field's new
// place. For each field, this pass leaves the bytes that the byte pass
// turns into the field's difference from the guess (encoding) or into its
// new value (decoding), so that pass can go eight bytes at a time over
// everything else. It reads a field's old bytes before decoding writes
// them and looks for the next field past them, so both directions find
// the same fields.
func (p *predictor) codeFields(old, x []byte, oldPos, newPos int64, decode bool) {
	n := len(old)
	for i := 0; i+1 < n; {
		// Eight starts at once that candidates rules out are passed over
		// (about 80% of the words of Go's code); the others are looked up
		// one by one. The pass is 1.2 times as fast on versitygw's code as
		// a lookup at every byte. Picking out each candidate's bits instead
		// made a faster scan but a slower pass.
		if i+9 <= n && candidates(binary.LittleEndian.Uint64(old[i:]), binary.LittleEndian.Uint64(old[i+1:])) == 0 {
			i += 8
			continue
		}
		for end := min(i+8, n-1); i < end; i++ {
			k := fieldAt[uint16(old[i])|uint16(old[i+1])<<8]
			if k == 0 {
				continue
			}
			f := i + int(k)
			if f+4 > n {
				continue // the field would not fit in old
			}
			// Field and guess, read whole before decoding writes the field.
			target := uint32(oldPos+int64(f)) + binary.LittleEndian.Uint32(old[f:])
			slot := &p.code[(target>>shiftBits)%shiftSlots]
			at := uint32(newPos + int64(f))
			guess := target + *slot - at
			v := binary.LittleEndian.Uint32(x[f:]) // the new value, or its difference
			if decode {
				v += guess
				for k := range 4 {
					old[f+k] = byte(v>>(8*k)) - x[f+k]
				}
			} else {
				for k := range 4 {
					x[f+k] = byte((v-guess)>>(8*k)) + old[f+k]
				}
			}
			*slot = at + v - target
			i = f + 3 // and i++
		}
	}
}

// candidates has the high bit set in each byte of w that may start an
// instruction with a rel32 field, given the byte after each (w1: w one
// byte on): an E8 or E9; a 0F before an 8x; or any byte before a ModRM
// that names RIP. It never misses a start that fieldAt knows
// (TestCandidates); it may name others.
func candidates(w, w1 uint64) uint64 {
	const ones = 0x0101010101010101
	call := zeroBytes(w&^ones ^ 0xE8*ones)
	jcc := zeroBytes(w^0x0F*ones) & zeroBytes(w1&(0xF0*ones)^0x80*ones)
	rip := zeroBytes(w1&(0xC7*ones) ^ 0x05*ones)
	return call | jcc | rip
}

// zeroBytes has the high bit set in each zero byte of v, perhaps in a byte
// above one (where the subtraction's borrow runs on), and nowhere else.
func zeroBytes(v uint64) uint64 {
	const ones, high = 0x0101010101010101, 0x8080808080808080
	return (v - ones) &^ v & high
}

// addWordsOrBytes decodes modes 0 and 1, which learn nothing: it adds the
// differences x onto old, in place. Most differences are zero, so it goes
// eight at a time and skips the zero ones; eight byte differences are
// added at once without carries between them (the high bit of each byte
// apart), and a word's as one number.
func addWordsOrBytes(m mode, old, x []byte, newPos int64) {
	const high = 0x8080808080808080
	n := len(x)
	i := 0
	if m == modeWords {
		// The partial word at the start is bytes; so is the one at the end.
		for ; i < n && (newPos+int64(i))&7 != 0; i++ {
			old[i] += x[i]
		}
	}
	for ; i+8 <= n; i += 8 {
		d := binary.LittleEndian.Uint64(x[i:])
		if d == 0 {
			continue
		}
		o := binary.LittleEndian.Uint64(old[i:])
		if m == modeWords {
			o += d
		} else {
			o = ((o &^ high) + (d &^ high)) ^ ((o ^ d) & high)
		}
		binary.LittleEndian.PutUint64(old[i:], o)
	}
	for ; i < n; i++ {
		old[i] += x[i]
	}
}
