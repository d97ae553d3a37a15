package update

import (
	"context"
	"fmt"
	"os"
	"runtime"

	"github.com/molt-go/update/internal/archive"
	"github.com/molt-go/update/verify"
)

// fetch downloads, verifies and (for archives) extracts the candidate's
// asset into a staged file beside the target, and probes it. It returns the
// staged file's path and, when the signed metadata gives it, the staged
// executable's digest (zero for an archive's); on error nothing is left
// behind.
func (u *Updater) fetch(ctx context.Context, s *state, c *candidate) (staged string, sum verify.Digest, err error) {
	to := c.version.Original()
	a := c.asset
	if staged, sum := u.fetchPatch(ctx, s, c); staged != "" {
		if err := u.probe(ctx, staged, c); err != nil {
			os.Remove(staged)
			return "", verify.Digest{}, err
		}
		return staged, sum, nil
	}
	f, err := u.o.Applier.Stage(u.o.Target)
	if err != nil {
		st := u.begin(StepDownload, to)
		return "", verify.Digest{}, st.end(fmt.Errorf("staging beside %s: %w", u.o.Target, err))
	}
	defer func() {
		f.Close()
		if err != nil {
			os.Remove(f.Name())
		}
	}()

	st := u.begin(StepDownload, to)
	h, err := u.download(ctx, a, f, st)
	if err != nil {
		return "", verify.Digest{}, st.end(err)
	}
	if err := st.end(nil); err != nil {
		return "", verify.Digest{}, err
	}

	st = u.begin(StepVerify, to)
	if err := u.verify(h, f, a.Digest.IsZero(), a.Signature); err != nil {
		return "", verify.Digest{}, st.end(err)
	}
	st.end(nil)

	if archive.FormatOf(a.Name) != archive.Bare {
		path, err := u.extract(ctx, c, f)
		if err != nil {
			return "", verify.Digest{}, err
		}
		f.Close() // windows removes no open file
		os.Remove(f.Name())
		staged = path
	} else {
		if err := f.Close(); err != nil {
			return "", verify.Digest{}, u.begin(StepDownload, to).end(err)
		}
		staged, sum = f.Name(), a.Digest
	}
	if err := u.probe(ctx, staged, c); err != nil {
		os.Remove(staged)
		return "", verify.Digest{}, err
	}
	return staged, sum, nil
}

// verify checks the download against the trusted digest and, when the
// asset carries one, its signature. With no digest and no signature the
// download is refused unless verification was turned off.
func (u *Updater) verify(h interface{ Check() error }, f *os.File, noDigest bool, sig []byte) error {
	if u.o.InsecureSkipVerify && noDigest && sig == nil {
		u.log.Warn("update: installing an unverified download (InsecureSkipVerify)")
		return nil
	}
	if !noDigest {
		if err := h.Check(); err != nil {
			return err
		}
	}
	if sig != nil {
		if u.o.Verifier == nil {
			return fmt.Errorf("%w: the asset is signed but there is no Verifier", ErrNotVerified)
		}
		if _, err := f.Seek(0, 0); err != nil {
			return err
		}
		return u.o.Verifier.Verify(f, sig)
	}
	if noDigest {
		return fmt.Errorf("%w: no trusted digest or signature for %s", ErrNotVerified, f.Name())
	}
	return nil
}

// extract takes the executable out of the verified archive f into a second
// staged file.
func (u *Updater) extract(ctx context.Context, c *candidate, f *os.File) (string, error) {
	st := u.begin(StepExtract, c.version.Original())
	out, err := u.o.Applier.Stage(u.o.Target)
	if err != nil {
		return "", st.end(err)
	}
	n, err := archive.ExtractWith(ctx, f, out, archive.Options{
		Asset: c.asset.Name,
		App:   u.o.App,
		GOOS:  u.o.OS,
		// The name the installed program goes by, as well as the usual
		// ones; or exactly the one the source names.
		Names:      u.executableNames(),
		Executable: c.asset.Executable,
		Limit:      u.o.MaxAssetSize,
	})
	st.bytes = n
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out.Name())
		return "", st.end(err)
	}
	return out.Name(), st.end(nil)
}

// makeExecutable gives a staged file the execute bits it needs to be
// probed; the applier later gives it the old file's exact mode.
func makeExecutable(path string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	return os.Chmod(path, 0o755)
}
