package archive

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The parts of the .xz file format (specification version 1.2) that scanXz
// reads.
var (
	xzMagic     = []byte{0xFD, '7', 'z', 'X', 'Z', 0x00}
	xzFootMagic = []byte{'Y', 'Z'}
)

const (
	xzHeaderLen   = 12   // stream header and stream footer
	xzLZMA2       = 0x21 // the only filter the decoder supports
	xzMaxBlockHdr = 1024 // (255+1)*4
)

// errXz is the cause of every structural error scanXz finds.
var errXz = errors.New("malformed xz stream")

// scanXz walks every xz stream in the asset without decompressing it,
// reading only block headers and LZMA2 chunk headers, and refuses an LZMA2
// dictionary larger than maxWindow before the decoder allocates it. Block
// positions are found by walking the data rather than trusting the index,
// since the decoder checks the index only at the end of a stream, after it
// has allocated every block's dictionary.
func (x *extraction) scanXz(size int64) error {
	s := &xzScanner{r: bufio.NewReaderSize(&ctxReader{ctx: x.ctx, r: io.NewSectionReader(x.file, 0, size)}, bufSize)}
	err := s.scan()
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrTooLarge):
		return fmt.Errorf("%w: %s: %w", ErrTooLarge, x.asset, err)
	case errors.Is(err, io.EOF):
		err = fmt.Errorf("%w: %w", errXz, io.ErrUnexpectedEOF)
	}
	return x.fail(err, x.asset)
}

// xzScanner reads an xz file forward, keeping its position for padding.
type xzScanner struct {
	r   *bufio.Reader
	pos int64
}

func (s *xzScanner) byte() (byte, error) {
	b, err := s.r.ReadByte()
	if err == nil {
		s.pos++
	}
	return b, err
}

func (s *xzScanner) full(p []byte) error {
	n, err := io.ReadFull(s.r, p)
	s.pos += int64(n)
	return err
}

func (s *xzScanner) skip(n int64) error {
	for n > 0 {
		k, err := s.r.Discard(int(min(n, bufSize)))
		s.pos += int64(k)
		n -= int64(k)
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *xzScanner) uvarint() (uint64, error) {
	v, err := binary.ReadUvarint(s)
	if err != nil && !errors.Is(err, io.EOF) {
		err = fmt.Errorf("%w: %w", errXz, err)
	}
	return v, err
}

// ReadByte lets binary.ReadUvarint count what it reads.
func (s *xzScanner) ReadByte() (byte, error) { return s.byte() }

// align skips the zero padding up to the next multiple of four.
func (s *xzScanner) align() error {
	return s.skip((4 - s.pos%4) % 4)
}

// scan walks streams and stream padding to the end of the file.
func (s *xzScanner) scan() error {
	streams := 0
	for {
		b, err := s.r.Peek(1)
		if err == io.EOF && streams > 0 {
			return nil
		}
		if err != nil {
			return err
		}
		if b[0] == 0 && streams > 0 { // stream padding, in groups of four zero bytes
			var pad [4]byte
			if err := s.full(pad[:]); err != nil {
				return err
			}
			if pad != [4]byte{} {
				return fmt.Errorf("%w: bad stream padding", errXz)
			}
			continue
		}
		if err := s.stream(); err != nil {
			return err
		}
		streams++
	}
}

// stream walks one stream: header, blocks, index, footer.
func (s *xzScanner) stream() error {
	var hdr [xzHeaderLen]byte
	if err := s.full(hdr[:]); err != nil {
		return err
	}
	if !bytes.Equal(hdr[:6], xzMagic) {
		return fmt.Errorf("%w: no xz magic", errXz)
	}
	check := hdr[7] & 0x0F
	checkLen := int64(0)
	if check != 0 {
		checkLen = 4 << ((check - 1) / 3)
	}
	for {
		b, err := s.byte()
		if err != nil {
			return err
		}
		if b == 0 { // index indicator: no more blocks
			break
		}
		if err := s.block(b); err != nil {
			return err
		}
		if err := s.align(); err != nil {
			return err
		}
		if err := s.skip(checkLen); err != nil {
			return err
		}
	}
	records, err := s.uvarint()
	if err != nil {
		return err
	}
	for range records {
		for range 2 { // unpadded size, uncompressed size
			if _, err := s.uvarint(); err != nil {
				return err
			}
		}
	}
	if err := s.align(); err != nil {
		return err
	}
	var tail [4 + xzHeaderLen]byte // index CRC32, then the footer
	if err := s.full(tail[:]); err != nil {
		return err
	}
	if !bytes.Equal(tail[len(tail)-2:], xzFootMagic) {
		return fmt.Errorf("%w: no footer magic", errXz)
	}
	return nil
}

// block checks a block header, whose first byte is sizeByte, then walks the
// LZMA2 chunks after it.
func (s *xzScanner) block(sizeByte byte) error {
	var buf [xzMaxBlockHdr]byte
	hdr := buf[:(int(sizeByte)+1)*4]
	hdr[0] = sizeByte
	if err := s.full(hdr[1:]); err != nil {
		return err
	}
	flags := hdr[1]
	if flags&0x3C != 0 || flags&0x03 != 0 {
		return fmt.Errorf("%w: unsupported block flags %#x (one LZMA2 filter only)", errXz, flags)
	}
	br := bytes.NewReader(hdr[2 : len(hdr)-4]) // without the CRC32
	for _, present := range []bool{flags&0x40 != 0, flags&0x80 != 0} {
		if present { // compressed size, uncompressed size
			if _, err := binary.ReadUvarint(br); err != nil {
				return fmt.Errorf("%w: block header: %w", errXz, err)
			}
		}
	}
	id, err := binary.ReadUvarint(br)
	if err != nil {
		return fmt.Errorf("%w: block header: %w", errXz, err)
	}
	propLen, err := binary.ReadUvarint(br)
	if err != nil {
		return fmt.Errorf("%w: block header: %w", errXz, err)
	}
	prop, err := br.ReadByte()
	if id != xzLZMA2 || propLen != 1 || err != nil {
		return fmt.Errorf("%w: filter %#x is not LZMA2", errXz, id)
	}
	dict, err := dictCap(prop)
	if err != nil {
		return err
	}
	if dict > maxWindow {
		return fmt.Errorf("%w: xz dictionary of %d bytes, more than %d", ErrTooLarge, dict, maxWindow)
	}
	return s.chunks()
}

// dictCap decodes an LZMA2 dictionary size property (xz specification,
// section 5.3.1): 40 is 4 GiB - 1, below it the size is 2 or 3 times a
// power of two from 4 KiB, above it the property is invalid. It is done
// here rather than with the decoder's own function so that this scan, and
// with it the memory protection, does not depend on an xz decoder being
// linked in.
func dictCap(prop byte) (int64, error) {
	switch {
	case prop > 40:
		return 0, fmt.Errorf("%w: LZMA2 dictionary property %d", errXz, prop)
	case prop == 40:
		return 0xFFFFFFFF, nil
	}
	return int64(2|prop&1) << (prop/2 + 11), nil
}

// chunks walks LZMA2 chunks by their headers up to the end marker.
func (s *xzScanner) chunks() error {
	for {
		c, err := s.byte()
		if err != nil {
			return err
		}
		var h [5]byte
		switch {
		case c == 0x00: // end of data
			return nil
		case c == 0x01 || c == 0x02: // stored chunk: 2-byte size
			if err := s.full(h[:2]); err != nil {
				return err
			}
			if err := s.skip(int64(binary.BigEndian.Uint16(h[:2])) + 1); err != nil {
				return err
			}
		case c >= 0x80: // LZMA chunk: unpacked size low bits, packed size, maybe properties
			n := 4
			if c >= 0xC0 {
				n = 5
			}
			if err := s.full(h[:n]); err != nil {
				return err
			}
			if err := s.skip(int64(binary.BigEndian.Uint16(h[2:4])) + 1); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%w: bad LZMA2 chunk %#x", errXz, c)
		}
	}
}
