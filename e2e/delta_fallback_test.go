package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/molt-go/update/delta"
	"github.com/molt-go/update/source/feed"
	"github.com/molt-go/update/verify"
)

// TestDeltaFallback: with the real pkgserver and hello, each broken patch
// is given up and 1.1.0 is installed from the full download: a patch whose
// bytes were flipped in the server's cache, a patch for another old binary
// (the installed one changed by hand: no patch is even fetched), a patch
// truncated in the cache, and a patch signed into the feed that makes
// another program than the signed 1.1.0 (never installed). After each,
// hello runs as 1.1.0, its events say which path was taken, and nothing
// is left beside it or in its state directory.
func TestDeltaFallback(t *testing.T) {
	t.Parallel()
	d, oldBytes, newBytes := startHelloDeltaServer(t)
	_, evilPatch := sharedPatches(t)
	p := d.patch
	cached := filepath.Join(d.ps.releases, ".patches", "hello", p.Name)
	good := readFile(t, cached)
	if int64(len(good)) != p.Size {
		t.Fatalf("the cached patch is %d bytes, the feed says %d", len(good), p.Size)
	}

	// The undisturbed path first: it takes the patch, and its state
	// directory is what every fallback must leave too.
	base := d.install(t, "baseline", oldBytes)
	out, errOut := base.run(t)
	if strings.TrimSpace(out) != "hello 1.1.0" {
		t.Fatalf("hello printed %q\n%s", out, errOut)
	}
	if ev := downloadEvents(errOut); !slices.Equal(ev, []string{"patch ok"}) {
		t.Fatalf("download events %v, want one patch\n%s", ev, errOut)
	}
	base.onlyProgramAndBackup(t)
	wantState := names(t, base.state)

	evil := craftedFeed(t, d, p, evilPatch)
	cases := []struct {
		name   string
		breaks func(t *testing.T, h *installed)
		// events are the download events, in order; verify is a failure
		// the verify step must report, if any.
		events []string
		verify string
		// patchSent is whether the patch's bytes were sent at all.
		patchSent bool
	}{{
		name: "tampered",
		breaks: func(t *testing.T, h *installed) {
			b := bytes.Clone(good)
			for i := len(b) / 2; i < len(b)/2+8; i++ {
				b[i] ^= 0xff
			}
			writeCached(t, cached, b)
		},
		events:    []string{"patch failed", "full ok"},
		patchSent: true,
	}, {
		name: "another old binary",
		breaks: func(t *testing.T, h *installed) {
			// Still a hello 1.0.0 that runs, but not the bytes the patch
			// starts from.
			f, err := os.OpenFile(h.target, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString("changed by hand")
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
		},
		events: []string{"full ok"},
	}, {
		name:      "truncated",
		breaks:    func(t *testing.T, h *installed) { writeCached(t, cached, good[:len(good)/2]) },
		events:    []string{"patch failed", "full ok"},
		patchSent: true,
	}, {
		name: "result unlike the signed one",
		breaks: func(t *testing.T, h *installed) {
			d.setAnswer(evil)
		},
		// The applier refuses the patch's header, which promises another
		// file: the download of the patch stops there.
		events:    []string{"patch failed", "full ok"},
		verify:    "unlike the one wanted",
		patchSent: true,
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d.reset()
			defer d.reset()
			defer writeCached(t, cached, good)
			h := d.install(t, strings.ReplaceAll(c.name, " ", "-"), oldBytes)
			c.breaks(t, h)
			out, errOut := h.run(t)
			if strings.TrimSpace(out) != "hello 1.1.0" {
				t.Fatalf("hello printed %q, want hello 1.1.0\nstderr: %s", out, errOut)
			}
			if v := versionOf(t, h.target); v != "1.1.0" {
				t.Fatalf("the installed program says %s", v)
			}
			sameBytes(t, h.target, d.published)
			if ev := downloadEvents(errOut); !slices.Equal(ev, c.events) {
				t.Errorf("download events %v, want %v\n%s", ev, c.events, errOut)
			}
			if c.verify != "" && !hasFailedStep(errOut, "verify", c.verify) {
				t.Errorf("no verify step failed with %q:\n%s", c.verify, errOut)
			}
			full, patch := d.sentBytes()
			if full != int64(len(newBytes)) {
				t.Errorf("sent %d bytes of the full binary, want all %d", full, len(newBytes))
			}
			if (patch > 0) != c.patchSent {
				t.Errorf("sent %d bytes of patches; want some: %v", patch, c.patchSent)
			}
			h.onlyProgramAndBackup(t)
			if got := names(t, h.state); !slices.Equal(got, wantState) {
				t.Errorf("state directory holds %v, want %v (as after a clean update)", got, wantState)
			}
		})
	}
}

// craftedFeed returns an answer that serves, in place of the server's, a
// feed signed with the server's own key whose patch p is replaced by
// patch, with its true size and digest: a valid patch, made by the same
// server, from the installed 1.0.0 to hello 6.6.6 (the publisher's
// mistake, or a key thief's). The size and digest of the patch's result
// stay the signed 1.1.0's.
func craftedFeed(t *testing.T, d *deltaServer, p feed.Patch, patch []byte) func(http.ResponseWriter, *http.Request) bool {
	t.Helper()
	h, err := delta.ReadHeader(bytes.NewReader(patch))
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(h.OldHash[:]) != p.From || hex.EncodeToString(h.NewHash[:]) == p.ToSHA256 {
		t.Fatalf("the crafted patch %v does not start from 1.0.0 and make another file", h)
	}
	sum := sha256.Sum256(patch)
	signer, err := feed.LoadSigner(readFile(t, d.key))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := verify.Signature(readFile(t, d.ps.pub))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(d.ps.base + "hello/feed.json")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	payload, err := feed.Parse(body, pub)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for ri := range payload.Releases {
		for ai := range payload.Releases[ri].Assets {
			for pi := range payload.Releases[ri].Assets[ai].Patches {
				q := &payload.Releases[ri].Assets[ai].Patches[pi]
				if q.Name == p.Name {
					q.Size, q.SHA256 = int64(len(patch)), hex.EncodeToString(sum[:])
					found = true
				}
			}
		}
	}
	if !found {
		t.Fatalf("the feed lists no patch %s", p.Name)
	}
	payload.Serial++
	signed, err := feed.Sign(payload, signer)
	if err != nil {
		t.Fatal(err)
	}
	return func(w http.ResponseWriter, r *http.Request) bool {
		switch r.URL.Path {
		case "/hello/feed.json":
			w.Header().Set("Content-Type", "application/json")
			w.Write(signed)
		case "/hello/" + p.URL:
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(patch)
		default:
			return false
		}
		return true
	}
}

// writeCached replaces the server's cached patch file in place, keeping
// its modification time's role out of it: the server reads the cache only
// when its release folder changes, so it serves these bytes as they are.
func writeCached(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// stepLine is one of hello's event lines ("  download 1.0.0 -> 1.1.0
// 12ms  ok (a patch: 9 bytes saved)"), found anywhere in a line: a
// progress bar that did not finish leaves the event after its last redraw.
var stepLine = regexp.MustCompile(`(\w+) +\S+ -> \S+  \S+  ((?:ok|failed: )[^\r\n]*)`)

// downloadEvents lists hello's download steps as "patch ok", "patch
// failed", "full ok" or "full failed", in order.
func downloadEvents(stderr string) []string {
	var out []string
	for _, m := range stepLine.FindAllStringSubmatch(stderr, -1) {
		if m[1] != "download" {
			continue
		}
		kind, status := "full", "ok"
		if strings.Contains(m[2], "(a patch:") {
			kind = "patch"
		}
		if strings.HasPrefix(m[2], "failed: ") {
			status = "failed"
		}
		out = append(out, kind+" "+status)
	}
	return out
}

// hasFailedStep says whether hello reported step failing with an error
// that says why.
func hasFailedStep(stderr, step, why string) bool {
	for _, m := range stepLine.FindAllStringSubmatch(stderr, -1) {
		if m[1] == step && strings.HasPrefix(m[2], "failed: ") && strings.Contains(m[2], why) {
			return true
		}
	}
	return false
}
