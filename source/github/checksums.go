package github

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/molt-go/update/verify"
)

// checksumsListNames are the names projects give the file that lists the
// digests of a release's files, alone or after a prefix and a separator
// ("hugo_0.139.0_checksums.txt", "restic-0.17.3-SHA256SUMS"), best first:
// goreleaser's, sha256sum's, and the variants seen in real releases.
var checksumsListNames = []string{
	"checksums.txt", "sha256sums", "sha256sums.txt", "checksums.sha256", "sha256sum.txt", "sha256.txt",
	"checksums", "checksums-sha256.txt", "checksums_sha256.txt", "sha512sums", "sha512sums.txt",
	"checksums.sha512", "sha512sum.txt", "sha512.txt", "checksums-bsd",
}

// checksumsRank is where name stands among checksumsListNames, or -1 if it
// is no checksums list. Case does not matter.
func checksumsRank(name string) int {
	lower := strings.ToLower(name)
	for i, w := range checksumsListNames {
		if lower == w {
			return i
		}
		if rest, ok := strings.CutSuffix(lower, w); ok && rest != "" && strings.ContainsRune("_-.", rune(rest[len(rest)-1])) {
			return i
		}
	}
	return -1
}

// checksumsFiles returns the release's checksums lists, best first. A
// clearsigned list may be published only as "SHA256SUMS.asc": such a file
// counts as a list when the release has no plain one of that name.
func checksumsFiles(names []string) []string {
	var files []string
	rank := func(n string) int {
		if base, ok := strings.CutSuffix(n, ".asc"); ok && !slices.Contains(names, base) {
			return checksumsRank(base)
		}
		return checksumsRank(n)
	}
	for _, n := range names {
		if rank(n) >= 0 {
			files = append(files, n)
		}
	}
	slices.SortStableFunc(files, func(a, b string) int { return rank(a) - rank(b) })
	return files
}

// assetSumSuffixes are the endings of a file holding one asset's digest
// ("hello_linux_amd64.tar.gz.sha256").
var assetSumSuffixes = []string{".sha256", ".sha256sum", ".sha256.txt", ".sha512", ".sha512sum"}

// parseAssetSum reads a file holding the digest of the asset called name:
// a bare hex digest, or a checksums file whose one entry, or whose entry
// for name, is it.
func parseAssetSum(data []byte, name string) (verify.Digest, error) {
	fields := bytes.Fields(data)
	if len(fields) == 1 {
		return verify.ParseDigest(string(fields[0]))
	}
	sums, err := verify.ParseChecksums(data)
	if err != nil {
		return verify.Digest{}, err
	}
	if ns := sums.Names(); len(ns) == 1 {
		return sums.Lookup(ns[0])
	}
	return sums.Lookup(name)
}

// trustedSums is the digests of every checksums file a look accepted.
type trustedSums []*verify.Checksums

// lookup returns the digest the files give name, the zero Digest if none
// lists it. Files that list it differently are an error: one of them was
// not made for this release.
func (ts trustedSums) lookup(name string) (verify.Digest, error) {
	var found verify.Digest
	for _, sums := range ts {
		d, err := sums.Lookup(name)
		if err != nil {
			continue // not listed, or listed twice: no answer from this file
		}
		if !found.IsZero() && found.Algorithm == d.Algorithm && found.String() != d.String() {
			return verify.Digest{}, fmt.Errorf("github: checksums files disagree on %s (%s, %s): %w", name, found, d, verify.ErrDigestMismatch)
		}
		if found.IsZero() {
			found = d
		}
	}
	return found, nil
}
