package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/molt-go/update/source/feed"
)

func keysIn(t *testing.T, dir string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, feed.KeysFile))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sign(t *testing.T, keyFile string) []byte {
	t.Helper()
	s, err := loadSigner(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	p := &feed.Payload{App: "hello", Serial: 1, Issued: time.Now().Add(-time.Minute), Expires: time.Now().Add(time.Hour)}
	b, err := feed.Sign(p, s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestKeyCeremony runs the ceremony of the feed package's documentation
// with the commands: roots made offline, a signing key issued, revoked,
// the roots rotated; a program pinning the first root follows it all.
func TestKeyCeremony(t *testing.T) {
	t.Parallel()
	offline, releases, server := t.TempDir(), t.TempDir(), t.TempDir()
	var out bytes.Buffer
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
	}
	rootKey := filepath.Join(offline, "root.key")
	must(rootInit([]string{"-out", offline, "-dir", releases}, &out))
	if fi, err := os.Stat(rootKey); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("root.key: %v %v", fi, err)
	}
	rootPEM, err := os.ReadFile(filepath.Join(offline, "root.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if err := rootInit([]string{"-out", t.TempDir(), "-dir", releases}, &out); err == nil {
		t.Error("root init wrote over an existing keys.json")
	}

	// A signing key made on the server; only its public key travels.
	must(keygen([]string{"-out", server}))
	signingKey, signingPub := filepath.Join(server, "update.key"), filepath.Join(server, "update.pub")
	must(keyIssue([]string{"-root", rootKey, "-dir", releases, "-expires", "720h", "-pub", signingPub}, &out))
	roots := feed.MustRoots(rootPEM)
	tk, err := roots.Update(keysIn(t, releases))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := tk.ParseFeed(sign(t, signingKey), time.Now()); err != nil {
		t.Fatalf("feed by the issued key: %v", err)
	}
	// And one made offline.
	second := filepath.Join(offline, "second.key")
	must(keyIssue([]string{"-root", rootKey, "-dir", releases, "-out", second}, &out))
	if _, err := os.Stat(filepath.Join(offline, "second.pub")); err != nil {
		t.Error(err)
	}

	out.Reset()
	must(keyList([]string{"-dir", releases}, &out))
	if strings.Count(out.String(), "valid") != 2 {
		t.Errorf("key list:\n%s", out.String())
	}

	id := tk.Keys()[0].ID
	must(keyRevoke([]string{"-root", rootKey, "-dir", releases, "-id", id[:12]}, &out))
	tk, err = roots.Update(keysIn(t, releases))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := tk.ParseFeed(sign(t, signingKey), time.Now()); !errors.Is(err, feed.ErrKeyRevoked) {
		t.Errorf("after key revoke: err = %v, want ErrKeyRevoked", err)
	}
	if _, _, err := tk.ParseFeed(sign(t, second), time.Now()); err != nil {
		t.Errorf("the other key after the revocation: %v", err)
	}
	// Revoking needs the root.
	other := t.TempDir()
	must(rootInit([]string{"-out", other}, &out))
	if err := keyRevoke([]string{"-root", filepath.Join(other, "root.key"), "-dir", releases, "-id", tk.Keys()[0].ID}, &out); !errors.Is(err, feed.ErrNotRootSigned) {
		t.Errorf("key revoke with another root: err = %v, want ErrNotRootSigned", err)
	}

	// The roots rotate; the program pinning the first follows.
	newRoots := t.TempDir()
	must(rootRotate([]string{"-root", rootKey, "-dir", releases, "-out", newRoots}, &out))
	tk, err = roots.Update(keysIn(t, releases))
	if err != nil || tk.RootVersion != 2 {
		t.Fatalf("after root rotate: %+v, %v", tk, err)
	}
	// The old root can no longer change the list.
	if err := keyIssue([]string{"-root", rootKey, "-dir", releases, "-out", filepath.Join(offline, "third.key")}, &out); !errors.Is(err, feed.ErrNotRootSigned) {
		t.Errorf("key issue with the retired root: err = %v, want ErrNotRootSigned", err)
	}
	must(keyIssue([]string{"-root", filepath.Join(newRoots, "root.key"), "-dir", releases, "-out", filepath.Join(offline, "fourth.key")}, &out))
	if _, err := roots.Update(keysIn(t, releases)); err != nil {
		t.Errorf("a list the new root signed: %v", err)
	}

	// key publish to a folder that a static host serves.
	www := t.TempDir()
	os.WriteFile(filepath.Join(releases, "hello-1.0.0-linux-amd64"), []byte("x"), 0o644)
	must(keyPublish([]string{"-dir", releases, "-to", "file://" + filepath.ToSlash(www)}, &out))
	if got, err := os.ReadFile(filepath.Join(www, "hello", feed.KeysFile)); err != nil || !bytes.Equal(got, keysIn(t, releases)) {
		t.Errorf("published key list: %v", err)
	}
}

func TestKeyIssueWithAWrongRootWritesNothing(t *testing.T) {
	t.Parallel()
	offline, releases, other := t.TempDir(), t.TempDir(), t.TempDir()
	var out bytes.Buffer
	if err := rootInit([]string{"-out", offline, "-dir", releases}, &out); err != nil {
		t.Fatal(err)
	}
	if err := rootInit([]string{"-out", other}, &out); err != nil {
		t.Fatal(err)
	}
	before := keysIn(t, releases)
	key := filepath.Join(offline, "signing.key")
	err := keyIssue([]string{"-root", filepath.Join(other, "root.key"), "-dir", releases, "-out", key}, &out)
	if !errors.Is(err, feed.ErrNotRootSigned) {
		t.Fatalf("err = %v, want ErrNotRootSigned", err)
	}
	if _, err := os.Stat(key); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a signing key was written: %v", err)
	}
	if !bytes.Equal(keysIn(t, releases), before) {
		t.Error("keys.json changed")
	}
}
