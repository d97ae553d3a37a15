package verify

import (
	"errors"
	"testing"
)

// TestChecksumsForms reads the other forms real releases publish their
// checksums in: BSD lines (several algorithms a file), openssl's, and a
// GNU or BSD file inside an OpenPGP cleartext signature.
func TestChecksumsForms(t *testing.T) {
	t.Parallel()
	a, b := hex256("a"), hex256("b")
	clearsigned := "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n" +
		a + "  app_linux_amd64.tar.gz\n" + b + "  app_darwin_arm64.tar.gz\n" +
		"- -----not a checksum, dash-escaped\n" + // must not parse as a line: it is a line error
		"-----BEGIN PGP SIGNATURE-----\n\niQEzBAEBCAAdFiEE\n=abcd\n-----END PGP SIGNATURE-----\n"
	tests := []struct {
		name, file, lookup, want string
		line                     int // expected line error, 0 for none
	}{
		{name: "bsd", file: "SHA256 (app.tar.gz) = " + a + "\n", lookup: "app.tar.gz", want: "sha256:" + a},
		{name: "bsd sha512", file: "SHA512 (app.zip) = " + hex512("a") + "\n", lookup: "app.zip", want: "sha512:" + hex512("a")},
		{name: "openssl", file: "SHA2-256(app) = " + a + "\n", lookup: "app", want: "sha256:" + a},
		{name: "openssl 1", file: "SHA256(app)= " + a + "\n", lookup: "app", want: "sha256:" + a},
		{name: "parentheses in the name", file: "SHA256 (app (1).zip) = " + a + "\n", lookup: "app (1).zip", want: "sha256:" + a},
		{name: "yq's checksums-bsd: several algorithms", file: "MD5 (yq_linux_amd64) = 0cc175b9c0f1b6a831c399e269772661\n" +
			"SHA1 (yq_linux_amd64) = 86f7e437faa5a7fce15d1ddcb9eaeaea377667b8\nSHA256 (yq_linux_amd64) = " + b + "\n" +
			"BLAKE2b (yq_linux_amd64) = 00ff\n", lookup: "yq_linux_amd64", want: "sha256:" + b},
		{name: "one name, two algorithms: sha256", file: "SHA512 (x) = " + hex512("a") + "\nSHA256 (x) = " + b + "\n", lookup: "x", want: "sha256:" + b},
		{name: "bsd and gnu mixed", file: "SHA256 (one) = " + a + "\n" + b + "  two\n", lookup: "two", want: "sha256:" + b},
		{name: "clearsigned", file: clearsigned, lookup: "", line: 6},
		{name: "clearsigned, good", file: "\n-----BEGIN PGP SIGNED MESSAGE-----\r\nHash: SHA512\r\n\r\n" + a + "  x\r\n" +
			"-----BEGIN PGP SIGNATURE-----\r\n\r\nxyz\r\n-----END PGP SIGNATURE-----\r\n", lookup: "x", want: "sha256:" + a},
		{name: "clearsigned bsd", file: "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nSHA256 (x) = " + a +
			"\n-----BEGIN PGP SIGNATURE-----\n-----END PGP SIGNATURE-----\n", lookup: "x", want: "sha256:" + a},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := ParseChecksums([]byte(tt.file))
			if tt.line != 0 {
				le, ok := errors.AsType[*ChecksumsLineError](err)
				if !ok || le.Line != tt.line {
					t.Fatalf("ParseChecksums = %v; want a line error on line %d", err, tt.line)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseChecksums: %v", err)
			}
			d, err := c.Lookup(tt.lookup)
			if err != nil || d.String() != tt.want {
				t.Fatalf("Lookup(%q) = %s, %v; want %s", tt.lookup, d, err, tt.want)
			}
		})
	}
}
