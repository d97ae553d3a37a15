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

// Patch applies patch to old, writing the new file to out, checking both
// files' sizes and digests against the patch's header.
func (p Patcher) Patch(ctx context.Context, old io.ReaderAt, patch io.Reader, out io.Writer) error {
	_, err := Apply(ctx, old, patch, out, &ApplyOptions{MaxNewSize: p.MaxNewSize})
	return err
}
