package e2e

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

const pkgserverPkg = "github.com/molt-go/update/cmd/pkgserver"

// TestSelfUpdateWithPkgserver is the whole story with real processes: the
// pkgserver binary makes a key and serves a folder, hello 1.0.0 runs,
// updates itself to 1.1.0 and re-executes.
func TestSelfUpdateWithPkgserver(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	ps := startPkgserver(t, root)
	published := filepath.Join(ps.releases, platformName("hello", "1.1.0"))
	copyFile(t, program(t, helloPkg, "1.1.0"), published, 0o755)

	target := filepath.Join(root, "hello"+exeSuffix())
	copyFile(t, program(t, helloPkg, "1.0.0"), target, 0o755)
	out, errOut := run(t, target, "-feed", ps.base+"hello/", "-key", ps.pub, "-state", filepath.Join(root, "state"))
	if strings.TrimSpace(out) != "hello 1.1.0" {
		t.Fatalf("hello printed %q, want hello 1.1.0\nstderr: %s", out, errOut)
	}
	if v := versionOf(t, target); v != "1.1.0" {
		t.Fatalf("installed version %s, want 1.1.0", v)
	}
	sameBytes(t, target, published)
	for _, step := range []string{"find", "download", "verify", "apply", "restart"} {
		if !strings.Contains(errOut, step) {
			t.Errorf("hello's output does not show the %s step:\n%s", step, errOut)
		}
	}
}

// pkgserverProc is the real pkgserver binary serving a folder.
type pkgserverProc struct {
	releases string // the folder it serves
	pub      string // its public key file
	base     string // its URL, ending in "/"
}

// startPkgserver makes a key with "pkgserver keygen" and runs "pkgserver
// serve" over root/releases on a loopback port, with extra flags, until the
// test ends.
func startPkgserver(t *testing.T, root string, extra ...string) *pkgserverProc {
	t.Helper()
	pkgserver := program(t, pkgserverPkg, "0.0.0")
	keyDir := filepath.Join(root, "keys")
	ps := &pkgserverProc{releases: filepath.Join(root, "releases"), pub: filepath.Join(keyDir, "update.pub")}
	run(t, pkgserver, "keygen", "-out", keyDir)
	if err := os.MkdirAll(ps.releases, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	// Patches off unless a test asks for them (extra flags come later and
	// win): making them takes tens of seconds per pair of large binaries
	// on a busy machine, and the first feed request waits for them.
	args := append([]string{"serve", "-dir", ps.releases, "-addr", "127.0.0.1:0", "-key", filepath.Join(keyDir, "update.key"), "-patches", "0"}, extra...)
	srv := exec.CommandContext(ctx, pkgserver, args...)
	logs, err := srv.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); srv.Wait() })
	ps.base = waitForURL(t, logs)
	return ps
}

// waitForURL reads pkgserver's log until it says where it serves.
func waitForURL(t *testing.T, logs interface{ Read([]byte) (int, error) }) string {
	t.Helper()
	found := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`url=(http://[^ ]+)`)
		sc := bufio.NewScanner(logs)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case u := <-found:
		return u
	case <-time.After(30 * time.Second):
		t.Fatal("pkgserver did not say where it serves")
		return ""
	}
}

func sameBytes(t *testing.T, a, b string) {
	t.Helper()
	da, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	db, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(da, db) {
		t.Fatalf("%s and %s differ", a, b)
	}
}

// TestSelfUpdateThroughSymlink: the program is run through a link; the
// link stays a link and its target is replaced.
func TestSelfUpdateThroughSymlink(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	published := w.publish("1.1.0")
	link := filepath.Join(t.TempDir(), "hello-link")
	if err := os.Symlink(w.target, link); err != nil {
		t.Fatal(err)
	}
	out, errOut := run(t, link, "-feed", w.feedURL(), "-key", w.pub, "-state", w.state)
	if strings.TrimSpace(out) != "hello 1.1.0" {
		t.Fatalf("hello printed %q\nstderr: %s", out, errOut)
	}
	fi, err := os.Lstat(link)
	if err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("%s is no longer a symlink: %v %v", link, fi.Mode(), err)
	}
	if dest, _ := os.Readlink(link); dest != w.target {
		t.Fatalf("link now points at %s", dest)
	}
	sameBytes(t, w.target, published)
}

// TestSelfUpdateTarGz: the release is a .tar.gz holding the binary.
func TestSelfUpdateTarGz(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	bin := program(t, helloPkg, "1.1.0")
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	tw.WriteHeader(&tar.Header{Name: "hello_1.1.0/README.md", Mode: 0o644, Size: 3, Typeflag: tar.TypeReg})
	tw.Write([]byte("hi\n"))
	tw.WriteHeader(&tar.Header{Name: "hello_1.1.0/hello" + exeSuffix(), Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg})
	tw.Write(data)
	tw.Close()
	gz.Close()
	name := strings.TrimSuffix(platformName("hello", "1.1.0"), exeSuffix()) + ".tar.gz"
	if err := os.WriteFile(filepath.Join(w.releases, name), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut := w.runHello()
	if strings.TrimSpace(out) != "hello 1.1.0" {
		t.Fatalf("hello printed %q\nstderr: %s", out, errOut)
	}
	sameBytes(t, w.target, bin)
	if fi, _ := os.Stat(w.target); fi.Mode().Perm() != 0o755 {
		t.Fatalf("mode %v, want 0755", fi.Mode())
	}
}
