package delta

import (
	"context"
	"io"
)

// Patcher applies patches for the updater: set update.Options.Patcher to
// a Patcher and releases that carry a patch from the installed binary are
// fetched as that patch (kilobytes) instead of in full. A program that does
// not set it does not link this package, nor zstd.
type Patcher struct {
	// MaxNewSize caps the file a patch may make; zero means
	// DefaultMaxNewSize.
	MaxNewSize int64
}

// Patch applies patch to old, writing the new file to out, and checks the
// result's size and sha256 against the patch's header. It does not hash
// old first (ApplyOptions.TrustOld): the updater calls it only with the
// installed file it has just hashed to pick the patch, and one pass over
// the old file fewer is a quarter of the time Apply takes on a 28 MB
// binary. Given another file, Patch fails with ErrResultMismatch at the
// end instead of ErrOldMismatch at the start; call Apply to check first.
func (p Patcher) Patch(ctx context.Context, old io.ReaderAt, patch io.Reader, out io.Writer) error {
	_, err := Apply(ctx, old, patch, out, &ApplyOptions{MaxNewSize: p.MaxNewSize, TrustOld: true})
	return err
}
