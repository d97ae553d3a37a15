package archive

import (
	"errors"
	"io"
)

// DefaultMaxRatio and DefaultMinDecompressed set the default cap on the
// bytes decompressed in one extraction, skipped entries included:
// DefaultMaxRatio times the asset's size, and never less than
// DefaultMinDecompressed.
//
// The cap is a ratio because what is normal depends on the asset: ollama's
// 1.6 GB tarball rightly expands to several GB of GPU libraries, while a
// 14 MB tar.gz that expands to 4.3 GB ahead of its executable is a bomb.
// Executables compress about 3:1 and text about 10:1, so 32:1 is three
// times what any real release archive reaches; gzip reaches 1032:1 on
// zeros, zstd and xz far more. That 14 MB bomb is stopped after 448 MB,
// well under a second of decompression.
//
// The floor is for small assets, whose ratio is the least telling: 64 MiB
// is more than any archive under 2 MB holds, and takes a tenth of a second
// to decompress.
const (
	DefaultMaxRatio              = 32
	DefaultMinDecompressed int64 = 64 << 20
)

// errBudget is what a budget reader returns once the cap is spent; fail
// turns it into ErrTooLarge.
var errBudget = errors.New("archive: decompression budget spent")

// budget is the decompressed bytes an extraction may still read.
type budget struct {
	left, max int64
}

// defaultBudget is the cap for an asset of size bytes.
func defaultBudget(size int64) int64 {
	if size > (1<<62)/DefaultMaxRatio {
		return 1 << 62
	}
	return max(DefaultMinDecompressed, DefaultMaxRatio*size)
}

// wrap counts what r delivers against the budget.
func (b *budget) wrap(r io.Reader) io.Reader { return &budgetReader{b: b, r: r} }

type budgetReader struct {
	b *budget
	r io.Reader
}

// Read reads at most one byte past the budget, to tell a stream that ends
// exactly at the cap from one that goes on, and fails with errBudget in
// the second case.
func (br *budgetReader) Read(p []byte) (int, error) {
	if int64(len(p)) > br.b.left+1 {
		p = p[:br.b.left+1]
	}
	n, err := br.r.Read(p)
	if int64(n) > br.b.left {
		n = int(br.b.left)
		br.b.left = 0
		return n, errBudget
	}
	br.b.left -= int64(n)
	return n, err
}
