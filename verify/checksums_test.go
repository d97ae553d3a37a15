package verify

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
)

func hex256(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
func hex512(s string) string { h := sha512.Sum512([]byte(s)); return hex.EncodeToString(h[:]) }

func TestChecksumsLookup(t *testing.T) {
	t.Parallel()
	a, b := hex256("a"), hex256("b")
	tests := []struct {
		name   string
		file   string
		lookup string
		want   string // digest as Digest.String writes it
	}{
		{"text mode", a + "  app_linux_amd64.tar.gz\n" + b + "  app_darwin_arm64.tar.gz\n",
			"app_darwin_arm64.tar.gz", "sha256:" + b},
		{"binary mode", a + " *app.exe\n", "app.exe", "sha256:" + a},
		{"CRLF", a + "  x.zip\r\n" + b + "  y.zip\r\n", "x.zip", "sha256:" + a},
		{"no final newline", a + "  x.zip", "x.zip", "sha256:" + a},
		{"blank lines", "\n\n" + a + "  x\n   \n\r\n" + b + "  y\n\n", "y", "sha256:" + b},
		{"sha512", hex512("a") + "  big.tar.xz\n", "big.tar.xz", "sha512:" + hex512("a")},
		{"sha256 and sha512 mixed", a + "  one\n" + hex512("b") + " *two\n", "two", "sha512:" + hex512("b")},
		{"upper-case hex", strings.ToUpper(a) + "  x\n", "x", "sha256:" + a},
		{"dot slash prefix", a + "  ./dist/x\n", "dist/x", "sha256:" + a},
		{"name with spaces", a + "  my app.exe\n", "my app.exe", "sha256:" + a},
		{"name starting with a star", a + " **star\n", "*star", "sha256:" + a},
		{"GNU escaped name", `\` + a + `  back\\slash\nnew` + "\n", "back\\slash\nnew", "sha256:" + a},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := ParseChecksums([]byte(tt.file))
			if err != nil {
				t.Fatalf("ParseChecksums: %v", err)
			}
			d, err := c.Lookup(tt.lookup)
			if err != nil {
				t.Fatalf("Lookup(%q): %v", tt.lookup, err)
			}
			if got := d.String(); got != tt.want {
				t.Errorf("Lookup(%q) = %s, want %s", tt.lookup, got, tt.want)
			}
		})
	}
}

func TestChecksumsLookupFails(t *testing.T) {
	t.Parallel()
	a, b := hex256("a"), hex256("b")
	tests := []struct {
		name   string
		file   string
		lookup string
	}{
		{"missing", a + "  x\n", "y"},
		{"case differs", a + "  App.exe\n", "app.exe"},
		{"listed twice, equal digests", a + "  x\n" + a + "  x\n", "x"},
		{"listed twice, different digests", a + "  x\n" + b + " *x\n", "x"},
		{"listed twice, with and without ./", a + "  x\n" + a + "  ./x\n", "x"},
		{"listed three times", a + "  x\n" + a + "  x\n" + a + "  x\n", "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := ParseChecksums([]byte(tt.file))
			if err != nil {
				t.Fatalf("ParseChecksums: %v", err)
			}
			d, err := c.Lookup(tt.lookup)
			if !errors.Is(err, ErrChecksums) || !errors.Is(err, ErrNotVerified) {
				t.Fatalf("Lookup(%q) = %v, %v; want ErrChecksums", tt.lookup, d, err)
			}
			if !d.IsZero() {
				t.Errorf("Lookup(%q) returned digest %s with its error", tt.lookup, d)
			}
		})
	}
}

func TestParseChecksumsMalformed(t *testing.T) {
	t.Parallel()
	a := hex256("a")
	tests := []struct {
		name string
		file string
		line int // 0: not a line error
	}{
		{"empty", "", 0},
		{"only blank lines", "\n\r\n  \n", 0},
		{"too large", a + "  x\n" + strings.Repeat("\n", MaxChecksumsSize), 0},
		{"short digest", a[:63] + "  x\n", 1},
		{"long digest", a + "0  x\n", 1},
		{"sha384 length", strings.Repeat("ab", 48) + "  x\n", 1},
		{"not hex", strings.Repeat("g", 64) + "  x\n", 1},
		{"single space", a + " x\n", 1},
		{"single space, long name", a + " app.exe\n", 1},
		{"tab", a + "\tx\n", 1},
		{"no name", a + "  \n", 1},
		{"no separator", a + "\n", 1},
		{"name only ./", a + "  ./\n", 1},
		{"bsd line, short digest", "SHA256 (x) = " + a[:60] + "\n", 1},
		{"bsd line, no equals", "SHA256 (x) " + a + "\n", 1},
		{"bsd lines of other algorithms only", "MD5 (x) = 0cc175b9c0f1b6a831c399e269772661\n", 0},
		{"unterminated cleartext signature", "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n" + a + "  x\n", 0},
		{"comment", "# checksums\n" + a + "  x\n", 1},
		{"bad line after good ones", a + "  x\n\n" + a + "  y\nnonsense\n", 4},
		{"CRLF bad line", a + "  x\r\n" + a + "\r\n", 2},
		{"lone backslash", `\` + a + `  x\` + "\n", 1},
		{"unknown escape", `\` + a + `  x\t` + "\n", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := ParseChecksums([]byte(tt.file))
			if !errors.Is(err, ErrChecksums) || !errors.Is(err, ErrNotVerified) {
				t.Fatalf("ParseChecksums = %v, %v; want ErrChecksums", c, err)
			}
			var le *ChecksumsLineError
			switch {
			case tt.line == 0 && errors.As(err, &le):
				t.Errorf("got a line error for line %d, want a whole-file error", le.Line)
			case tt.line != 0 && !errors.As(err, &le):
				t.Errorf("error %v is not a *ChecksumsLineError", err)
			case tt.line != 0 && le.Line != tt.line:
				t.Errorf("error on line %d, want line %d", le.Line, tt.line)
			}
		})
	}
}

func TestChecksumsNames(t *testing.T) {
	t.Parallel()
	a := hex256("a")
	file := a + "  zeta\n" + a + "  alpha\n" + a + "  zeta\n" + a + "  mid\n"
	c, err := ParseChecksums([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"zeta", "alpha", "mid"}
	got := c.Names()
	if !slices.Equal(got, want) {
		t.Fatalf("Names() = %q, want %q", got, want)
	}
	got[0] = "changed"
	if c.Names()[0] != "zeta" {
		t.Error("Names returned the internal slice")
	}
}

// TestParseChecksumsSizeLimit checks the limit is inclusive: a file of
// exactly MaxChecksumsSize bytes parses.
func TestParseChecksumsSizeLimit(t *testing.T) {
	t.Parallel()
	line := hex256("a") + "  x\n"
	data := []byte(line + strings.Repeat("\n", MaxChecksumsSize-len(line)))
	if _, err := ParseChecksums(data); err != nil {
		t.Fatalf("file of exactly MaxChecksumsSize bytes: %v", err)
	}
}

// FuzzParseChecksums checks that no input panics and that every name a
// parsed file reports looks up to a well-formed digest or fails with
// ErrChecksums.
func FuzzParseChecksums(f *testing.F) {
	a := hex256("a")
	for _, s := range []string{
		a + "  x\n", a + " *y\r\n", `\` + a + `  a\\b`, hex512("z") + "  z\n\n", a + "  x\n" + a + "  x\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseChecksums(data)
		if err != nil {
			if !errors.Is(err, ErrChecksums) {
				t.Fatalf("error %v does not wrap ErrChecksums", err)
			}
			return
		}
		for _, name := range c.Names() {
			d, err := c.Lookup(name)
			switch {
			case err == nil && d.Algorithm.Size() != len(d.Sum):
				t.Fatalf("Lookup(%q) = %s: wrong length", name, d)
			case err != nil && !errors.Is(err, ErrChecksums):
				t.Fatalf("Lookup(%q): %v", name, err)
			}
		}
	})
}
