package update

import (
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/molt-go/update/verify"
)

// installedFile is what the updater remembers of the executable it last
// installed: its sha256, and the stamp (fileStamp) the file had just
// after. While the target's stamp is unchanged, the digest is taken from
// here instead of hashing the target to pick a patch: that hash was a
// sixth of a patch's time on a 61 MB binary. A stale entry cannot install
// anything wrong: a patch applied to another file fails the signed digest,
// and the full download follows.
type installedFile struct {
	Digest string `json:"digest"`
	Stamp  string `json:"stamp"`
}

// fileStamp tells a file's content apart from another's without reading
// it: size and modification time, and on unix its device, inode and
// change time (fileStampSys), which no copy or touch can carry over.
func fileStamp(fi fs.FileInfo) string {
	return fmt.Sprintf("%d %d%s", fi.Size(), fi.ModTime().UnixNano(), fileStampSys(fi))
}

// targetDigest is the sha256 of the installed executable: remembered, if
// s holds it for the file as it is now, else read.
func targetDigest(path string, s *state) (verify.Digest, error) {
	f, err := os.Open(path)
	if err != nil {
		return verify.Digest{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return verify.Digest{}, err
	}
	if m := s.Installed; m != nil && m.Stamp == fileStamp(fi) {
		if d, err := verify.ParseDigest(m.Digest); err == nil && d.Algorithm == verify.SHA256 {
			return d, nil
		}
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return verify.Digest{}, err
	}
	return verify.Digest{Algorithm: verify.SHA256, Sum: h.Sum(nil)}, nil
}

// rememberInstalled records in s the digest of the executable just
// installed at path, if it is known (a sha256), else forgets what s held.
func rememberInstalled(s *state, path string, d verify.Digest) {
	s.Installed = nil
	if d.Algorithm != verify.SHA256 {
		return
	}
	if fi, err := os.Stat(path); err == nil {
		s.Installed = &installedFile{Digest: d.String(), Stamp: fileStamp(fi)}
	}
}
