package update

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/molt-go/update/source"
	"github.com/molt-go/update/verify"
)

// Patcher applies a binary patch to the installed executable, making the
// new one: delta.Patcher does. The updater calls Patch only with the
// installed file whose sha256 it has just found to be the patch's starting
// point, so a Patcher need not hash it again. Patch must return nil only
// if what it wrote to out has the given digest and is size bytes (0: not
// known), the signed ones of the new executable: the updater installs what Patch
// vouched for and does not hash it a second time (delta.Patcher checks as
// it writes, so the patch costs one sha256 of the result, as the full
// download does). The patch streams into Patch as it downloads; the
// reader ends (io.EOF) only once the whole patch has arrived and matched
// its signed digest, and fails otherwise, so a Patcher should read it to
// the end before vouching for anything. With Options.Patcher nil, releases
// are always fetched in full.
type Patcher interface {
	Patch(ctx context.Context, old io.ReaderAt, patch io.Reader, out io.Writer, size int64, digest verify.Digest) error
}

// patchRetries is how many times a patch's download resumes before the
// updater gives up on the patch: one, for a dropped connection. A patch
// that is still short is truncated where it is stored, and the full
// download is then the quicker way, not a minute of backoff.
const patchRetries = 1

// fetchPatch tries to make the candidate's executable from a patch of the
// installed one: only when a patch in the signed metadata starts from the
// installed binary's exact digest. It returns the staged executable and
// its signed digest, or "" when there is no usable patch or anything
// about it failed (the caller then downloads in full, with nothing left
// behind here).
func (u *Updater) fetchPatch(ctx context.Context, s *state, c *candidate) (string, verify.Digest) {
	if u.o.Patcher == nil || len(c.asset.Patches) == 0 {
		return "", verify.Digest{}
	}
	have, err := targetDigest(u.o.Target, s)
	if err != nil {
		return "", verify.Digest{}
	}
	var p *source.Patch
	for i := range c.asset.Patches {
		if c.asset.Patches[i].From.String() == have.String() {
			p = &c.asset.Patches[i]
			break
		}
	}
	if p == nil {
		return "", verify.Digest{}
	}
	staged, err := u.applyPatch(ctx, p, c)
	if err != nil {
		u.log.Warn("update: the patch failed; downloading in full", "patch", p.Name, "err", err)
		return "", verify.Digest{}
	}
	return staged, p.To
}

// applyPatch streams patch p into the Patcher as it downloads, checking
// the patch's digest as it goes, and takes the result only if both the
// patch's digest and the Patcher's check of the result against the signed
// digest pass. The Patcher sees the end of the patch only once its digest
// has checked, so a Patcher that reads to the end (delta.Patcher does)
// fails on a patch that does not. Nothing but the staged result is
// written, and applying overlaps downloading: staging the patch in a file
// first cost hello's update over loopback a tenth of its time.
func (u *Updater) applyPatch(ctx context.Context, p *source.Patch, c *candidate) (staged string, err error) {
	to := c.version.Original()
	if p.To.IsZero() {
		// Nothing to hold the result to: never install it.
		vst := u.begin(StepVerify, to)
		return "", vst.end(fmt.Errorf("%w: patch %s names no digest of what it makes", ErrNotVerified, p.Name))
	}
	old, err := os.Open(u.o.Target)
	if err != nil {
		return "", err
	}
	defer old.Close()
	out, err := u.o.Applier.Stage(u.o.Target)
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			out.Close()
			os.Remove(out.Name())
		}
	}()
	pr, pw := io.Pipe()
	patched := make(chan error, 1)
	go func() {
		err := u.o.Patcher.Patch(ctx, old, pr, out, p.ToSize, p.To)
		// A Patcher that stops early stops the download, and one that
		// never read to the end cannot hold it up.
		pr.CloseWithError(errPatcherDone)
		patched <- err
	}()

	st := u.begin(StepDownload, to)
	st.ev.Patch = true
	pa := source.Asset{Name: p.Name, Size: p.Size, Digest: p.Digest, URL: p.URL}
	h, err := u.download(ctx, pa, pw, st)
	if err == nil {
		err = h.Check()
	}
	if err != nil {
		pw.CloseWithError(err)
		perr := <-patched
		if !errors.Is(err, errPatcherDone) || perr == nil {
			return "", st.end(err)
		}
		// The download stopped because the Patcher refused the patch or
		// its result: that is the verdict, and the rest was not fetched.
		st.end(fmt.Errorf("%w: %w", errPatcherDone, perr))
		return "", u.begin(StepVerify, to).end(fmt.Errorf("%w: patch %s: %w", ErrNotVerified, p.Name, perr))
	}
	if full := c.asset.Size; full > p.Size {
		st.ev.Saved = full - p.Size
	}
	st.end(nil)

	vst := u.begin(StepVerify, to)
	pw.Close()
	if err := <-patched; err != nil {
		return "", vst.end(fmt.Errorf("%w: patch %s: %w", ErrNotVerified, p.Name, err))
	}
	if err := out.Close(); err != nil {
		return "", vst.end(err)
	}
	vst.end(nil)
	return out.Name(), nil
}

// errPatcherDone is what the download of a patch meets once the Patcher
// has returned and reads no more.
var errPatcherDone = errors.New("the patcher has stopped reading the patch")
