package update

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/molt-go/update/internal/archive"
	"github.com/molt-go/update/source"
)

// archived publishes body as version in an archive named as the feed
// names files, app-<version>-<os>-<arch><ext>.
func archived(version, ext string, archive []byte) *memSource {
	name := platformName("app", version, ext)
	return memOf(10, map[string]source.Asset{version: asset(name, archive)}, map[string][]byte{name: archive})
}

// TestExtractInstallsTheExecutable: the executable is taken out of a
// .tar.gz or .zip, wherever the usual layouts put it, and nothing but it
// (and the backup) is left beside the target.
func TestExtractInstallsTheExecutable(t *testing.T) {
	t.Parallel()
	exe := []byte("#!/bin/true\nthe 1.1.0 build\n")
	files := map[string][]byte{
		"app-1.1.0/README.md":   []byte("read me"),
		"app-1.1.0/LICENSE":     []byte("MIT"),
		"app-1.1.0/app":         exe,
		"app-1.1.0/bin/app.txt": []byte("not it"),
		"bin/app":               exe,
		"app":                   exe,
	}
	cases := []struct {
		name, ext string
		build     func(*testing.T, []string, map[string][]byte) []byte
		entries   []string
	}{
		{"tar.gz in a folder", ".tar.gz", tarGz, []string{"app-1.1.0/README.md", "app-1.1.0/app", "app-1.1.0/LICENSE"}},
		{"tar.gz in bin", ".tar.gz", tarGz, []string{"app-1.1.0/README.md", "bin/app", "app-1.1.0/bin/app.txt"}},
		{"zip at the top", ".zip", zipOf, []string{"app-1.1.0/README.md", "app"}},
		{"zip in a folder", ".zip", zipOf, []string{"app-1.1.0/LICENSE", "app-1.1.0/app"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			arch := tc.build(t, tc.entries, files)
			o := opts(t, archived("1.1.0", tc.ext, arch))
			evs := new(events).record(&o)
			u, _ := New(o)
			res, err := u.Check(context.Background())
			if err != nil || !res.Updated || res.Asset.Name != platformName("app", "1.1.0", tc.ext) {
				t.Fatalf("Check: %+v, %v", res, err)
			}
			if got, _ := os.ReadFile(o.Target); !bytes.Equal(got, exe) {
				t.Fatalf("target holds %q, want the executable from the archive", got)
			}
			want := []Step{StepFind, StepDownload, StepVerify, StepExtract, StepApply, StepRestart}
			if got := evs.steps(); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("steps %v, want %v", got, want)
			}
			x := evs.of(StepExtract)[0]
			if x.Bytes != int64(len(exe)) || x.Err != nil || x.To != "1.1.0" {
				t.Errorf("extract event %+v, want %d bytes to 1.1.0", x, len(exe))
			}
			if d := evs.of(StepDownload)[0]; d.Bytes != int64(len(arch)) {
				t.Errorf("download event says %d bytes, the archive has %d", d.Bytes, len(arch))
			}
			onlyFiles(t, filepath.Dir(o.Target), "app", backupName(t, o.Target))
		})
	}
}

// TestExtractByExecutableName: an asset that names its executable is
// looked up by that name.
func TestExtractByExecutableName(t *testing.T) {
	t.Parallel()
	exe := []byte("the hello-cli build")
	arch := tarGz(t, []string{"dist/README", "dist/hello-cli"}, map[string][]byte{"dist/README": []byte("read me"), "dist/hello-cli": exe})
	src := archived("1.1.0", ".tar.gz", arch)
	src.listing.Releases[0].Assets[0].Executable = "hello-cli"
	o := opts(t, src)
	u, _ := New(o)
	if res, err := u.Check(context.Background()); err != nil || !res.Updated {
		t.Fatalf("Check: %+v, %v", res, err)
	}
	if got := content(t, o.Target); got != string(exe) {
		t.Fatalf("target holds %q, want %q", got, exe)
	}
}

// TestExtractExecutableNameIsExact: source.Asset.Executable says "empty
// means the updater looks for the app's name"; when it is set, an entry
// named like the app (a wrapper script, a decoy) must not compete with it.
func TestExtractExecutableNameIsExact(t *testing.T) {
	t.Parallel()
	exe := []byte("the hello-cli build")
	arch := tarGz(t, []string{"dist/app", "dist/hello-cli"}, map[string][]byte{"dist/app": []byte("a wrapper script"), "dist/hello-cli": exe})
	src := archived("1.1.0", ".tar.gz", arch)
	src.listing.Releases[0].Assets[0].Executable = "hello-cli"
	o := opts(t, src)
	u, _ := New(o)
	if res, err := u.Check(context.Background()); err != nil || !res.Updated {
		t.Fatalf("Check: %+v, %v", res, err)
	}
	if got := content(t, o.Target); got != string(exe) {
		t.Fatalf("target holds %q, want %q", got, exe)
	}
}

// TestExtractRefusals: an archive without the executable, or with one
// larger than MaxAssetSize, installs nothing and leaves nothing behind.
func TestExtractRefusals(t *testing.T) {
	t.Parallel()
	big := make([]byte, 2<<20) // compresses to a few KiB
	cases := []struct {
		name string
		arch func(t *testing.T) []byte
		ext  string
		max  int64
		want error
	}{
		{"no executable", func(t *testing.T) []byte {
			return tarGz(t, []string{"app-1.1.0/README.md", "docs/examples/app"},
				map[string][]byte{"app-1.1.0/README.md": []byte("hi"), "docs/examples/app": []byte("too deep")})
		}, ".tar.gz", 0, archive.ErrNotFound},
		{"two executables", func(t *testing.T) []byte {
			return zipOf(t, []string{"app", "bin/app"}, map[string][]byte{"app": []byte("one"), "bin/app": []byte("two")})
		}, ".zip", 0, archive.ErrAmbiguous},
		{"executable over the cap", func(t *testing.T) []byte {
			return tarGz(t, []string{"app"}, map[string][]byte{"app": big})
		}, ".tar.gz", 1 << 20, archive.ErrTooLarge},
		{"not an archive", func(*testing.T) []byte { return []byte("this is not gzip at all") }, ".tar.gz", 0, archive.ErrFormat},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := opts(t, archived("1.1.0", tc.ext, tc.arch(t)))
			if tc.max > 0 {
				o.MaxAssetSize = tc.max
			}
			evs := new(events).record(&o)
			u, _ := New(o)
			_, err := u.Check(context.Background())
			var ue *Error
			if !errors.Is(err, tc.want) || !errors.As(err, &ue) || ue.Step != StepExtract {
				t.Fatalf("Check: %v, want %v at the extract step", err, tc.want)
			}
			if x := evs.of(StepExtract); len(x) != 1 || !errors.Is(x[0].Err, tc.want) {
				t.Fatalf("extract events %+v", x)
			}
			if len(evs.of(StepApply)) != 0 {
				t.Fatal("applied after a failed extraction")
			}
			if got := content(t, o.Target); got != "old" {
				t.Fatalf("target %q", got)
			}
			onlyFiles(t, filepath.Dir(o.Target), "app")
			// A verified archive that cannot be extracted is not marked bad:
			// the next look offers it again.
			if res, err := u.Find(context.Background()); err != nil || res.To != "1.1.0" || len(res.Skipped) != 0 {
				t.Fatalf("Find after a failed extraction: %+v, %v", res, err)
			}
		})
	}
}

// TestExtractCannotStage: the second staged file (for the executable) is
// refused: the archive's staged file goes too.
func TestExtractCannotStage(t *testing.T) {
	t.Parallel()
	arch := tarGz(t, []string{"app"}, map[string][]byte{"app": []byte("new")})
	o := opts(t, archived("1.1.0", ".tar.gz", arch))
	o.Applier = &stageOnce{}
	u, _ := New(o)
	_, err := u.Check(context.Background())
	var ue *Error
	if !errors.Is(err, errNoSpace) || !errors.As(err, &ue) || ue.Step != StepExtract {
		t.Fatalf("Check: %v, want the staging error at the extract step", err)
	}
	onlyFiles(t, filepath.Dir(o.Target), "app")
}

// stageOnce stages one file, then fails.
type stageOnce struct {
	failStage
	n int
}

func (s *stageOnce) Stage(target string) (*os.File, error) {
	s.n++
	if s.n > 1 {
		return nil, errNoSpace
	}
	return s.Replace.Stage(target)
}
