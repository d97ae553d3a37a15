package update

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/molt-go/update/verify"
)

// sumKeys accepts a signature that is the sha256 of the whole message, and
// records what it was asked to verify.
type sumKeys struct {
	mu   sync.Mutex
	seen [][]byte
}

func (k *sumKeys) Verify(msg io.Reader, sig []byte) error {
	b, err := io.ReadAll(msg)
	if err != nil {
		return err
	}
	k.mu.Lock()
	k.seen = append(k.seen, b)
	k.mu.Unlock()
	sum := sha256.Sum256(b)
	if !bytes.Equal(sum[:], sig) {
		return verify.ErrBadSignature
	}
	return nil
}

func sigOf(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

// TestVerifySignatures: a signature on the asset is checked over the whole
// downloaded file, with or without a digest; without a Verifier a signed
// asset is refused even when verification is off, since something claims
// to vouch for it and nothing can check the claim.
func TestVerifySignatures(t *testing.T) {
	t.Parallel()
	body := pattern(300 << 10)
	cases := []struct {
		name     string
		digest   bool
		sig      []byte
		verifier bool
		insecure bool
		want     error // nil: installs
		says     string
	}{
		{"digest and good signature", true, sigOf(body), true, false, nil, ""},
		{"good signature alone", false, sigOf(body), true, false, nil, ""},
		{"digest and bad signature", true, []byte("forged"), true, false, verify.ErrBadSignature, ""},
		{"bad signature alone", false, []byte("forged"), true, false, verify.ErrBadSignature, ""},
		{"signed, no verifier", true, sigOf(body), false, true, ErrNotVerified, "no Verifier"},
		{"insecure, nothing to check", false, nil, false, true, nil, ""},
		{"insecure still checks a digest", true, nil, false, true, nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := newMem("1.1.0", body)
			a := &src.listing.Releases[0].Assets[0]
			if !tc.digest {
				a.Digest = verify.Digest{}
			}
			a.Signature = tc.sig
			o := opts(t, src)
			keys := &sumKeys{}
			o.Verifier, o.InsecureSkipVerify = keys, tc.insecure
			if !tc.verifier {
				o.Verifier = nil
			}
			logs := capture(&o)
			u, err := New(o)
			if err != nil {
				t.Fatal(err)
			}
			res, err := u.Check(context.Background())
			if tc.want == nil {
				if err != nil || !res.Updated {
					t.Fatalf("Check = %+v, %v", res, err)
				}
				if got := content(t, o.Target); got != string(body) {
					t.Fatal("target does not hold the download")
				}
				if tc.sig != nil && (len(keys.seen) != 1 || !bytes.Equal(keys.seen[0], body)) {
					t.Fatalf("the signature was checked over %d messages, not the whole file once", len(keys.seen))
				}
				if !tc.digest && tc.sig == nil && !strings.Contains(logs.String(), "unverified download") {
					t.Errorf("an unverified install is not logged:\n%s", logs)
				}
				return
			}
			var ue *Error
			if !errors.Is(err, tc.want) || !errors.Is(err, ErrNotVerified) || !errors.As(err, &ue) || ue.Step != StepVerify ||
				!strings.Contains(err.Error(), tc.says) {
				t.Fatalf("Check: %v, want %v at the verify step", err, tc.want)
			}
			if got := content(t, o.Target); got != "old" {
				t.Fatalf("target %q", got)
			}
			onlyFiles(t, filepath.Dir(o.Target), "app")
		})
	}
}

// TestVerifyInsecureStillChecksADigest: InsecureSkipVerify does not
// install bytes that contradict the digest at hand.
func TestVerifyInsecureStillChecksADigest(t *testing.T) {
	t.Parallel()
	src := newMem("1.1.0", []byte("new"))
	src.files["app-1.1.0"] = []byte("bad")
	o := opts(t, src)
	o.Verifier, o.InsecureSkipVerify = nil, true
	u, _ := New(o)
	if _, err := u.Check(context.Background()); !errors.Is(err, verify.ErrDigestMismatch) {
		t.Fatalf("Check: %v, want ErrDigestMismatch", err)
	}
	if got := content(t, o.Target); got != "old" {
		t.Fatalf("target %q", got)
	}
}
