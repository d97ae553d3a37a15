package verify

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// MaxChecksumsSize is the largest checksums file ParseChecksums accepts.
// A goreleaser checksums file spends about 100 bytes per artifact, so 1 MiB
// holds some ten thousand of them; anything larger is not a checksums file
// but an attempt to make the updater hold an unbounded file in memory.
// Sources should read at most MaxChecksumsSize+1 bytes before parsing.
const MaxChecksumsSize = 1 << 20

// Checksums is a parsed checksums file, as sha256sum, sha512sum and
// goreleaser write them. The file itself proves nothing: it is trusted only
// once its signature has been verified.
type Checksums struct {
	names   []string            // in file order, each once
	digests map[string][]Digest // every digest listed for a name
}

// ChecksumsLineError reports a malformed line of a checksums file, so a
// publisher can find it. It wraps ErrChecksums.
type ChecksumsLineError struct {
	Line int   // 1-based
	Err  error // what is wrong with the line
}

func (e *ChecksumsLineError) Error() string {
	return fmt.Sprintf("%v: line %d: %v", ErrChecksums, e.Line, e.Err)
}

// Unwrap returns ErrChecksums.
func (e *ChecksumsLineError) Unwrap() error { return ErrChecksums }

// ParseChecksums reads a checksums file in the forms release tools write:
//
//   - GNU coreutils (sha256sum, sha512sum, goreleaser): one "<hex>  <name>"
//     (text mode) or "<hex> *<name>" (binary mode) line per file, where hex
//     is a sha256 (64 digits) or sha512 (128 digits) sum; GNU's
//     backslash-escaped names ("\<hex>  a\\b") are unescaped;
//   - BSD and "sha256sum --tag" (and openssl dgst): "SHA256 (<name>) = <hex>",
//     also "SHA512", "SHA2-256" and "SHA2-512", with or without the spaces.
//     Lines for other algorithms ("MD5 (x) = ...", "SHA1 (x) = ...") are
//     skipped, since such files often list several hashes of each file;
//   - either of them inside an OpenPGP cleartext signature (a clearsigned
//     SHA256SUMS): the armor is taken off and the signed text is read. The
//     signature is NOT checked here: whoever trusts the result must have
//     verified the file with the signer's key first.
//
// CRLF line ends and blank lines are tolerated. Any other line is a
// *ChecksumsLineError, numbered in the file as given. A file with no entries
// at all, or one larger than MaxChecksumsSize, is an error wrapping
// ErrChecksums too.
func ParseChecksums(data []byte) (*Checksums, error) {
	if len(data) > MaxChecksumsSize {
		return nil, fmt.Errorf("%w: file is larger than %d bytes", ErrChecksums, MaxChecksumsSize)
	}
	lines, first, err := clearsignedText(data)
	if err != nil {
		return nil, err
	}
	c := &Checksums{digests: make(map[string][]Digest)}
	for i, line := range lines {
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		name, d, err := parseChecksumLine(string(line))
		if errors.Is(err, errOtherAlgorithm) {
			continue
		}
		if err != nil {
			return nil, &ChecksumsLineError{Line: first + i, Err: err}
		}
		if _, seen := c.digests[name]; !seen {
			c.names = append(c.names, name)
		}
		c.digests[name] = append(c.digests[name], d)
	}
	if len(c.names) == 0 {
		return nil, fmt.Errorf("%w: no entries", ErrChecksums)
	}
	return c, nil
}

// parseChecksumLine splits one non-blank line into its name and digest.
func parseChecksumLine(line string) (string, Digest, error) {
	if isBSDLine(line) {
		return parseBSDLine(line)
	}
	// GNU coreutils marks a line whose name holds a backslash or a newline
	// with a leading backslash and escapes the name.
	escaped := strings.HasPrefix(line, `\`)
	if escaped {
		line = line[1:]
	}
	hexLen := strings.IndexByte(line, ' ')
	var alg Algorithm
	switch hexLen {
	case 2 * sha256.Size:
		alg = SHA256
	case 2 * sha512.Size:
		alg = SHA512
	case -1:
		return "", Digest{}, fmt.Errorf("no space after the digest")
	default:
		return "", Digest{}, fmt.Errorf("digest has %d hex digits, want %d (sha256) or %d (sha512)",
			hexLen, 2*sha256.Size, 2*sha512.Size)
	}
	sum, err := hex.DecodeString(line[:hexLen])
	if err != nil {
		return "", Digest{}, fmt.Errorf("digest is not hex: %v", err)
	}
	rest := line[hexLen:]
	// The separator is a space and a mode character: a second space for
	// text mode, '*' for binary mode. Both hash the same bytes on POSIX.
	if len(rest) < 3 || (rest[1] != ' ' && rest[1] != '*') {
		return "", Digest{}, fmt.Errorf(`want "<hex>  <name>" or "<hex> *<name>"`)
	}
	name := rest[2:]
	if escaped {
		if name, err = unescapeName(name); err != nil {
			return "", Digest{}, err
		}
	}
	// "sha256sum ./x" writes "./x"; the release asset is named "x".
	name = strings.TrimPrefix(name, "./")
	if name == "" {
		return "", Digest{}, fmt.Errorf("empty file name")
	}
	return name, Digest{Algorithm: alg, Sum: sum}, nil
}

// unescapeName undoes GNU coreutils' escaping of "\\" and "\n" in names.
func unescapeName(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		i++
		if i == len(s) {
			return "", fmt.Errorf("name ends in a lone backslash")
		}
		switch s[i] {
		case '\\':
			b.WriteByte('\\')
		case 'n':
			b.WriteByte('\n')
		default:
			return "", fmt.Errorf("unknown escape \\%c in name", s[i])
		}
	}
	return b.String(), nil
}

// Lookup returns the digest listed for the file called name. A name that is
// missing, or listed more than once for one algorithm (even with equal
// digests, since a file that repeats a name is not one the publisher's
// tools wrote), is an error wrapping ErrChecksums. A name listed once with
// each algorithm, as BSD-style files list several hashes of each file,
// gives its sha256 digest, the one GitHub and most tools compute too.
func (c *Checksums) Lookup(name string) (Digest, error) {
	ds := c.digests[name]
	if len(ds) == 0 {
		return Digest{}, fmt.Errorf("%w: %q is not listed", ErrChecksums, name)
	}
	var best Digest
	seen := map[Algorithm]bool{}
	for _, d := range ds {
		if seen[d.Algorithm] {
			return Digest{}, fmt.Errorf("%w: %q is listed twice", ErrChecksums, name)
		}
		seen[d.Algorithm] = true
		if best.IsZero() || d.Algorithm == SHA256 {
			best = d
		}
	}
	return best, nil
}

// Names returns the names the file lists, in file order, each once; a
// source uses them to match assets against the file.
func (c *Checksums) Names() []string {
	return append([]string(nil), c.names...)
}
