package server

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/molt-go/update/source/feed"
)

func TestBuild(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	old, later := epoch.Add(-48*time.Hour), epoch.Add(-time.Hour)
	writeFile(t, dir, "hello-1.0.0-linux-amd64", "one", old)
	writeFile(t, dir, "hello-1.0.0-windows-amd64.exe", "one.exe", old)
	writeFile(t, dir, "hello-1.2.0-rc.1-linux-amd64.tar.gz", "rc archive", later)
	writeFile(t, dir, "hello-v1.1.0-linux-amd64", "one one", later)
	writeFile(t, dir, "other-tool-0.1.0-darwin-arm64", "other", old)
	writeFile(t, dir, "README.md", "not a release", old)
	writeFile(t, dir, ".hello-2.0.0-linux-amd64", "half written", old)
	writeFile(t, dir, "hello-3.0.0-linux-amd64", "", old) // being created
	if err := os.Mkdir(filepath.Join(dir, "hello-4.0.0-linux-amd64"), 0o755); err != nil {
		t.Fatal(err)
	}

	got, err := Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["hello"] == nil || got["other-tool"] == nil {
		t.Fatalf("apps: %v", got)
	}
	h := got["hello"]
	var versions []string
	for _, r := range h.Releases {
		versions = append(versions, r.Version)
	}
	// Newest first, v1.1.0 written without its v, the half-written, empty
	// and directory entries left out.
	if want := []string{"1.2.0-rc.1", "1.1.0", "1.0.0"}; !slices.Equal(versions, want) {
		t.Fatalf("versions %v, want %v", versions, want)
	}
	r100 := h.Releases[2]
	if len(r100.Assets) != 2 || !r100.Published.Equal(old.Truncate(time.Second)) {
		t.Fatalf("1.0.0: %+v", r100)
	}
	a := r100.Assets[0]
	want := feed.Asset{Name: "hello-1.0.0-linux-amd64", OS: "linux", Arch: "amd64", Size: 3,
		SHA256: sha256hex("one"), URL: "hello-1.0.0-linux-amd64"}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("asset %+v\n want %+v", a, want)
	}
	if rc := h.Releases[0].Assets[0]; rc.Executable != "hello" || rc.SHA256 != sha256hex("rc archive") {
		t.Errorf("archive asset: %+v", rc)
	}
	if h.Serial != 0 || !h.Issued.IsZero() {
		t.Errorf("Build stamped the payload: %+v", h)
	}
	if _, err := Build(filepath.Join(dir, "missing")); err == nil {
		t.Error("Build of a missing folder succeeded")
	}
}

func TestBuilderHashesOnlyChangedFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "hello-1.0.0-linux-amd64", "one", epoch)
	b := builder{log: testLogger(t)}
	stats, err := listDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.hashAll(dir, stats); err != nil {
		t.Fatal(err)
	}
	files, err := b.hashAll(dir, stats)
	if err != nil || len(files) != 1 || files[0].sha256 != sha256hex("one") || b.hashed != 1 {
		t.Fatalf("unchanged rescan: %v, %v, %d files read", files, err, b.hashed)
	}
	// Changed: hashed again.
	writeFile(t, dir, "hello-1.0.0-linux-amd64", "uno", epoch.Add(time.Second))
	stats, _ = listDir(dir)
	files, err = b.hashAll(dir, stats)
	if err != nil || len(files) != 1 || files[0].sha256 != sha256hex("uno") || b.hashed != 2 {
		t.Fatalf("changed file: %v, %v", files, err)
	}
}
