package update

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/molt-go/update/delta"
	"github.com/molt-go/update/source"
	"github.com/molt-go/update/verify"
)

func sha(b []byte) verify.Digest {
	s := sha256.Sum256(b)
	return verify.Digest{Algorithm: verify.SHA256, Sum: s[:]}
}

// patchFixture is a release 1.1.0 offered in full and as a patch from the
// installed 1.0.0, in memory.
type patchFixture struct {
	old, new, patch []byte
	src             *memSource
	mu              sync.Mutex
	opened          map[string]int
}

func newPatchFixture(t *testing.T) *patchFixture {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	old := make([]byte, 256<<10)
	for i := range old {
		old[i] = byte(r.IntN(256))
	}
	nw := append([]byte("a new header "), old...)
	copy(nw[100000:], "a changed string in the middle")
	var p bytes.Buffer
	if err := delta.Diff(old, nw, &p, nil); err != nil {
		t.Fatal(err)
	}
	f := &patchFixture{old: old, new: nw, patch: p.Bytes(), opened: map[string]int{}}
	f.src = newMem("1.1.0", nw)
	a := &f.src.listing.Releases[0].Assets[0]
	a.Patches = []source.Patch{{From: sha(old), Name: "app-1.1.0.patch", Size: int64(p.Len()), Digest: sha(p.Bytes()), ToSize: int64(len(nw)), To: sha(nw)}}
	f.src.files["app-1.1.0.patch"] = p.Bytes()
	return f
}

func (f *patchFixture) options(t *testing.T) Options {
	o := opts(t, f.src)
	if err := os.WriteFile(o.Target, f.old, 0o755); err != nil {
		t.Fatal(err)
	}
	o.Patcher = delta.Patcher{}
	o.wait = func(int) time.Duration { return 0 } // a truncated patch is retried, at once here
	o.OnEvent = func(ev Event) {
		if ev.Step == StepDownload {
			f.mu.Lock()
			defer f.mu.Unlock()
			if ev.Patch {
				f.opened["patch"]++
				f.opened["saved"] += int(ev.Saved)
			} else {
				f.opened["full"]++
			}
		}
	}
	return o
}

func (f *patchFixture) check(t *testing.T, o Options, wantPatch bool) {
	t.Helper()
	u, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	res, err := u.Check(context.Background())
	if err != nil || !res.Updated {
		t.Fatalf("Check = %+v, %v", res, err)
	}
	got, _ := os.ReadFile(o.Target)
	if !bytes.Equal(got, f.new) {
		t.Fatal("the installed file is not the signed 1.1.0")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if wantPatch && (f.opened["patch"] != 1 || f.opened["full"] != 0 || f.opened["saved"] <= 0) {
		t.Fatalf("downloads %v, want the patch only, with bytes saved", f.opened)
	}
	if !wantPatch && f.opened["full"] != 1 {
		t.Fatalf("downloads %v, want the full release after the patch failed", f.opened)
	}
}

func TestPatchInstallsFromKilobytes(t *testing.T) {
	t.Parallel()
	f := newPatchFixture(t)
	if len(f.patch) > len(f.new)/20 {
		t.Fatalf("the patch is %d bytes of %d: not a patch", len(f.patch), len(f.new))
	}
	f.check(t, f.options(t), true)
}

// Each broken patch falls back to the full download, leaving nothing.
func TestPatchFallsBack(t *testing.T) {
	t.Parallel()
	cases := map[string]func(f *patchFixture, o *Options){
		"tampered patch": func(f *patchFixture, o *Options) {
			b := bytes.Clone(f.patch)
			b[len(b)/2] ^= 0xff
			f.src.files["app-1.1.0.patch"] = b
		},
		"another old binary": func(f *patchFixture, o *Options) {
			os.WriteFile(o.Target, append(bytes.Clone(f.old), '!'), 0o755)
		},
		"truncated patch": func(f *patchFixture, o *Options) {
			f.src.files["app-1.1.0.patch"] = f.patch[:len(f.patch)/2]
		},
		"result unlike the signed one": func(f *patchFixture, o *Options) {
			// A patch, signed as a patch, that makes something else: its
			// own header agrees with it, the signed metadata does not.
			var p bytes.Buffer
			delta.Diff(f.old, append(bytes.Clone(f.new), "evil"...), &p, nil)
			a := &f.src.listing.Releases[0].Assets[0]
			a.Patches[0].Size, a.Patches[0].Digest = int64(p.Len()), sha(p.Bytes())
			f.src.files["app-1.1.0.patch"] = p.Bytes()
		},
		"no signed digest of the result": func(f *patchFixture, o *Options) {
			// The Patcher vouches for the result against the signed
			// digest; with none, there is nothing to vouch against.
			f.src.listing.Releases[0].Assets[0].Patches[0].To = verify.Digest{}
		},
	}
	for name, breakIt := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newPatchFixture(t)
			o := f.options(t)
			breakIt(f, &o)
			f.check(t, o, false)
			assertOnly(t, o.Target)
		})
	}
}

// assertOnly fails if the target's folder holds anything but the target and
// the updater's backup.
func assertOnly(t *testing.T, target string) {
	t.Helper()
	dir, base := filepath.Split(target)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if n := e.Name(); n != base && n != "."+base+".old" {
			t.Errorf("left behind: %s", n)
		}
	}
}

// A patch still short after one resume is given up for the full download,
// not resumed through the whole backoff (Options.Retries) of a full one.
func TestPatchTruncatedGivesUpAfterOneResume(t *testing.T) {
	t.Parallel()
	f := newPatchFixture(t)
	o := f.options(t)
	o.Retries = 6
	f.src.files["app-1.1.0.patch"] = f.patch[:len(f.patch)/2]
	f.check(t, o, false)
	if got, want := f.src.opens.Load(), int32(1+patchRetries+1); got != want {
		t.Fatalf("%d opens, want %d: the patch and %d resume, then the full release", got, want, patchRetries)
	}
	assertOnly(t, o.Target)
}

// lyingPatcher reads the whole patch and, if it ends cleanly, writes
// result and says it is the signed file: a Patcher that checks nothing.
type lyingPatcher struct {
	result []byte
	sawEnd chan bool
}

func (p lyingPatcher) Patch(ctx context.Context, old io.ReaderAt, patch io.Reader, out io.Writer, size int64, digest verify.Digest) error {
	_, err := io.Copy(io.Discard, patch)
	p.sawEnd <- err == nil
	if err != nil {
		return err
	}
	_, err = out.Write(p.result)
	return err
}

// TestPatchEndsOnlyOnceItsDigestChecks: the patch streams into the
// Patcher as it downloads, and the Patcher sees its end only once the
// patch's signed digest has checked. One whose bytes were changed makes
// the Patcher's read fail, so even a Patcher that checks nothing cannot
// get its result installed; the full download follows. With the patch as
// signed, the same Patcher does see the end.
func TestPatchEndsOnlyOnceItsDigestChecks(t *testing.T) {
	t.Parallel()
	for _, tampered := range []bool{true, false} {
		f := newPatchFixture(t)
		o := f.options(t)
		lp := lyingPatcher{result: f.new, sawEnd: make(chan bool, 1)}
		o.Patcher = lp
		if tampered {
			lp.result = append(bytes.Clone(f.new), "evil"...)
			b := bytes.Clone(f.patch)
			b[len(b)-1] ^= 0xff
			f.src.files["app-1.1.0.patch"] = b
		}
		f.check(t, o, !tampered)
		if saw := <-lp.sawEnd; saw == tampered {
			t.Errorf("tampered %v: the Patcher saw the end of the patch: %v", tampered, saw)
		}
		assertOnly(t, o.Target)
	}
}
