package delta

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/molt-go/update/verify"
)

// TestPatcherHoldsToSigned: Patcher.Patch returns nil only for the signed
// result. A patch whose header promises another file is refused before
// anything is written, as is one for another size than the signed one; a
// digest that is not sha256 is refused too.
func TestPatcherHoldsToSigned(t *testing.T) {
	old := syntheticBinary(64<<10, 5)
	new := edit(old, 20, 6)
	patch := diffOf(t, old, new)
	sum := sha256.Sum256(new)
	other := sha256.Sum256(old)
	signed := verify.Digest{Algorithm: verify.SHA256, Sum: sum[:]}
	for _, c := range []struct {
		name   string
		size   int64
		digest verify.Digest
		ok     bool
	}{
		{"the signed result", int64(len(new)), signed, true},
		{"size not known", 0, signed, true},
		{"another digest", int64(len(new)), verify.Digest{Algorithm: verify.SHA256, Sum: other[:]}, false},
		{"another size", int64(len(new)) + 1, signed, false},
		{"not sha256", int64(len(new)), verify.Digest{Algorithm: "sha512", Sum: make([]byte, 64)}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			err := Patcher{}.Patch(context.Background(), bytes.NewReader(old), bytes.NewReader(patch), &out, c.size, c.digest)
			if c.ok {
				if err != nil || !bytes.Equal(out.Bytes(), new) {
					t.Fatalf("Patch: %v, made the new file: %v", err, bytes.Equal(out.Bytes(), new))
				}
				return
			}
			if !errors.Is(err, ErrResultMismatch) {
				t.Fatalf("Patch: %v, want ErrResultMismatch", err)
			}
			if out.Len() != 0 {
				t.Errorf("a header promising another result: %d bytes written before the refusal, want none", out.Len())
			}
		})
	}
}
