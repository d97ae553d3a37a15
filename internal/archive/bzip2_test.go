package archive

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestBzip2 extracts restic's layouts from the files in testdata (see its
// README): a bzip2-compressed executable and a tar.bz2, with the
// standard library's decoder.
func TestBzip2(t *testing.T) {
	t.Parallel()
	exe := randomBytes(20_000, 7)
	for _, name := range []string{"restic_0.17.3_linux_amd64.bz2", "restic_0.17.3_linux_amd64.tar.bz2"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			_, err = ExtractWith(t.Context(), assetFile(t, name, data), &out, Options{Asset: name, App: "restic"})
			if err != nil || !bytes.Equal(out.Bytes(), exe) {
				t.Fatalf("Extract = %v, %d bytes", err, out.Len())
			}
			for _, alias := range []string{"a.tbz2", "a.tbz", "a.tar.bz2"} {
				if FormatOf(name) == Bz2 {
					break
				}
				if _, err := ExtractWith(t.Context(), assetFile(t, alias, data), &bytes.Buffer{}, Options{Asset: alias, App: "restic"}); err != nil {
					t.Errorf("%s: %v", alias, err)
				}
			}
			if _, _, err := extract(t, name, data[:len(data)/2], 0); !errors.Is(err, ErrFormat) {
				t.Errorf("half %s: Extract = %v, want ErrFormat", name, err)
			}
		})
	}
}
