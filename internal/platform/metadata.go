package platform

import "strings"

// notProgramSuffixes are endings of the files that sit beside the programs
// and are never installed: signatures and certificates, checksums, SBOMs
// and provenance, documents and scripts, and OS packages (which hold a
// program, but in a layout only their package manager installs). The Arch
// Linux package endings come here because ".pkg.tar.zst" would otherwise
// read as a tar.zst.
var notProgramSuffixes = []string{
	// signatures, certificates, keys
	".sig", ".asc", ".gpg", ".minisig", ".pem", ".cert", ".crt", ".pub", ".key",
	".sigstore", ".sigstore.json", ".bundle", ".att", ".intoto.jsonl",
	// checksums
	".sha256", ".sha512", ".sha1", ".md5", ".sha256sum", ".sha512sum", ".sha1sum", ".md5sum",
	// SBOMs and metadata
	".sbom", ".sbom.json", ".spdx", ".spdx.json", ".cdx", ".cdx.json", ".cdx.xml",
	".json", ".jsonl", ".yml", ".yaml", ".toml", ".xml",
	// documents and scripts
	".txt", ".md", ".html", ".pdf", ".sh", ".ps1", ".bat",
	// OS packages and installers
	".deb", ".rpm", ".apk", ".ipk", ".msi", ".msix", ".pkg", ".dmg", ".snap", ".flatpak",
	".appimage", ".pkg.tar.zst", ".pkg.tar.xz", ".pkg.tar.gz",
}

// checksumWords are the words that make a name a checksum list even with no
// ending at all, as restic's "SHA256SUMS" or yq's "checksums" and
// "checksums-bsd".
var checksumWords = set("checksums", "checksum", "sha256sums", "sha512sums", "sha1sums", "md5sums", "b2sums")

// notProgramSuffix returns the ending of lower (a lower-case name) that
// marks it as never a program.
func notProgramSuffix(lower string) (string, bool) {
	best := ""
	for _, s := range notProgramSuffixes {
		if strings.HasSuffix(lower, s) && len(s) > len(best) {
			best = s
		}
	}
	return best, best != ""
}

// isChecksumList reports whether a lower-case name has a checksum word.
func isChecksumList(lower string) bool {
	for _, w := range splitWords(lower) {
		if checksumWords[w] {
			return true
		}
	}
	return false
}
