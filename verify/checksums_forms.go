package verify

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// This file holds the checksums-file forms besides GNU's: BSD-style lines
// and the OpenPGP cleartext signature that some projects wrap their
// SHA256SUMS in.

// errOtherAlgorithm marks a BSD-style line for a hash this package does
// not compute (MD5, SHA1, BLAKE2...): skipped, not an error.
var errOtherAlgorithm = errors.New("verify: checksum of another algorithm")

// bsdAlgorithms are the algorithm words of BSD-style lines, as BSD's
// sha256(1), "sha256sum --tag" and openssl dgst write them.
var bsdAlgorithms = map[string]Algorithm{
	"SHA256": SHA256, "SHA2-256": SHA256,
	"SHA512": SHA512, "SHA2-512": SHA512,
}

// isBSDLine reports whether line has the shape "ALG (name) = hex": a word
// of letters, digits and dashes, then " (" or "(". A GNU line starts with
// hex digits and a space, so the two cannot be confused.
func isBSDLine(line string) bool {
	open := strings.IndexByte(line, '(')
	if open <= 0 {
		return false
	}
	word := strings.TrimSuffix(line[:open], " ")
	if word == "" {
		return false
	}
	for _, r := range word {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// parseBSDLine reads "SHA256 (name) = hex". The name runs to the last
// ") =" so that names holding parentheses still parse.
func parseBSDLine(line string) (string, Digest, error) {
	open := strings.IndexByte(line, '(')
	word := strings.ToUpper(strings.TrimSuffix(line[:open], " "))
	rest := line[open+1:]
	end := strings.LastIndex(rest, ")")
	if end < 0 {
		return "", Digest{}, fmt.Errorf(`want "%s (<name>) = <hex>"`, word)
	}
	name, tail := rest[:end], strings.TrimLeft(rest[end+1:], " ")
	hexSum, ok := strings.CutPrefix(tail, "=")
	if !ok {
		return "", Digest{}, fmt.Errorf(`want "%s (<name>) = <hex>"`, word)
	}
	hexSum = strings.TrimSpace(hexSum)
	alg, known := bsdAlgorithms[word]
	if !known {
		return "", Digest{}, errOtherAlgorithm
	}
	sum, err := hex.DecodeString(hexSum)
	if err != nil {
		return "", Digest{}, fmt.Errorf("digest is not hex: %v", err)
	}
	if len(sum) != alg.Size() {
		return "", Digest{}, fmt.Errorf("%s digest has %d hex digits, want %d", word, len(hexSum), 2*alg.Size())
	}
	name = strings.TrimPrefix(name, "./")
	if name == "" {
		return "", Digest{}, fmt.Errorf("empty file name")
	}
	return name, Digest{Algorithm: alg, Sum: sum}, nil
}

// The lines that frame an OpenPGP cleartext signature (RFC 9580, section 7).
const (
	clearsignBegin = "-----BEGIN PGP SIGNED MESSAGE-----"
	signatureBegin = "-----BEGIN PGP SIGNATURE-----"
)

// clearsignedText returns the lines of data to read as a checksums file,
// and the number in data of the first of them. For a cleartext-signed file
// those are the signed text's lines, dash-unescaped, without the armor
// headers and the signature; otherwise all of data's lines. Whether the
// signature is good is not this function's business (see ParseChecksums).
func clearsignedText(data []byte) ([][]byte, int, error) {
	lines := bytes.Split(data, []byte("\n"))
	start := 0
	for start < len(lines) && len(bytes.TrimSpace(lines[start])) == 0 {
		start++
	}
	if start == len(lines) || string(bytes.TrimSpace(lines[start])) != clearsignBegin {
		return lines, 1, nil
	}
	// Armor headers ("Hash: SHA256") run to the first blank line.
	i := start + 1
	for i < len(lines) && len(bytes.TrimSpace(lines[i])) != 0 {
		i++
	}
	if i == len(lines) {
		return nil, 0, fmt.Errorf("%w: cleartext signature has no signed text", ErrChecksums)
	}
	i++
	first := i + 1
	var body [][]byte
	for ; i < len(lines); i++ {
		l := bytes.TrimSuffix(lines[i], []byte("\r"))
		if string(bytes.TrimSpace(l)) == signatureBegin {
			return body, first, nil
		}
		// Dash-escaping: a signed line starting with "-" is written "- -...".
		body = append(body, bytes.TrimPrefix(l, []byte("- ")))
	}
	return nil, 0, fmt.Errorf("%w: cleartext signature is not terminated by %q", ErrChecksums, signatureBegin)
}
