package sigstore_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/molt-go/update/verify"
	"github.com/molt-go/update/verify/sigstore"
	"github.com/molt-go/update/verify/sigstore/sigstoretest"
)

const (
	workflowSAN = "https://github.com/acme/hello/.github/workflows/release.yml@refs/tags/v1.2.3"
	issuer      = sigstore.GitHubActionsIssuer
)

func newVerifier(t *testing.T, ss *sigstoretest.Sigstore, ids ...sigstore.Identity) *sigstore.Verifier {
	t.Helper()
	if len(ids) == 0 {
		ids = []sigstore.Identity{sigstore.GitHubWorkflow("acme/hello", "release.yml", "refs/tags/v*")}
	}
	v, err := sigstore.New(sigstore.Options{Identities: ids, TrustedRoot: ss.TrustedRoot()})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestVerify checks a keyless bundle by the pinned workflow, in the new
// and the older cosign form, and refuses it under every other identity,
// issuer, file or trusted root.
func TestVerify(t *testing.T) {
	t.Parallel()
	ss := sigstoretest.New(t)
	data := []byte("0123abcd  hello_1.2.3_linux_amd64.tar.gz\n")
	good := ss.SignBlob(workflowSAN, issuer, data)
	v := newVerifier(t, ss)
	for _, tc := range []struct {
		name   string
		v      *sigstore.Verifier
		bundle []byte
		data   []byte
		want   error // nil: verifies
	}{
		{"the pinned workflow", v, good, data, nil},
		{"cosign's older bundle", v, ss.LegacyBundle(workflowSAN, issuer, data), data, nil},
		{"a case-insensitive repository", newVerifier(t, ss, sigstore.GitHubWorkflow("ACME/Hello", ".github/workflows/release.yml", "")), good, data, nil},
		{"an exact subject", newVerifier(t, ss, sigstore.Identity{Issuer: issuer, Subject: workflowSAN}), good, data, nil},
		{"one of two identities", newVerifier(t, ss, sigstore.Identity{Issuer: issuer, Subject: "someone@example.com"},
			sigstore.GitHubWorkflow("acme/hello", "release.yml", "refs/tags/v1.2.3")), good, data, nil},
		{"other bytes", v, good, []byte("other"), sigstore.ErrUntrusted},
		{"another workflow", v, ss.SignBlob("https://github.com/acme/hello/.github/workflows/ci.yml@refs/tags/v1.2.3", issuer, data), data, sigstore.ErrUntrusted},
		{"a branch, not a tag", v, ss.SignBlob("https://github.com/acme/hello/.github/workflows/release.yml@refs/heads/evil", issuer, data), data, sigstore.ErrUntrusted},
		{"another repository", v, ss.SignBlob("https://github.com/evil/hello/.github/workflows/release.yml@refs/tags/v1.2.3", issuer, data), data, sigstore.ErrUntrusted},
		{"a subject that only contains the pinned one", v, ss.SignBlob("x"+workflowSAN, issuer, data), data, sigstore.ErrUntrusted},
		{"another issuer", v, ss.SignBlob(workflowSAN, "https://accounts.example.com", data), data, sigstore.ErrUntrusted},
		{"another Sigstore", v, sigstoretest.New(t).SignBlob(workflowSAN, issuer, data), data, sigstore.ErrUntrusted},
		{"the public-good root", mustNew(t, sigstore.Options{Identities: []sigstore.Identity{{Issuer: issuer, Subject: workflowSAN}}}), good, data, sigstore.ErrUntrusted},
		{"no log entry", v, withoutLogEntry(t, good), data, sigstore.ErrBundle},
		{"a log entry not in the log", v, editEntry(t, good, "inclusionProof", "rootHash", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="), data, sigstore.ErrUntrusted},
		{"a log promise not signed by the log", v, editEntry(t, good, "inclusionPromise", "signedEntryTimestamp", "MEUCIQDx"), data, sigstore.ErrUntrusted},
		{"not a bundle", v, []byte("MEUCIQD..."), data, sigstore.ErrBundle},
		{"too large", v, bytes.Repeat([]byte(" "), sigstore.MaxBundleSize+1), data, sigstore.ErrBundle},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.v.Verify(bytes.NewReader(tc.data), tc.bundle)
			t.Log(err)
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("Verify: %v", err)
			case tc.want != nil && (!errors.Is(err, tc.want) || !errors.Is(err, verify.ErrBadSignature)):
				t.Fatalf("Verify = %v, want %v (and verify.ErrBadSignature)", err, tc.want)
			}
		})
	}
}

func mustNew(t *testing.T, o sigstore.Options) *sigstore.Verifier {
	t.Helper()
	v, err := sigstore.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// withoutLogEntry removes the transparency-log entry from a bundle.
func withoutLogEntry(t *testing.T, b []byte) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	delete(m["verificationMaterial"].(map[string]any), "tlogEntries")
	out, _ := json.Marshal(m)
	return out
}

// editEntry sets one field of an object of the bundle's log entry.
func editEntry(t *testing.T, b []byte, object, field, value string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	e := m["verificationMaterial"].(map[string]any)["tlogEntries"].([]any)[0].(map[string]any)
	e[object].(map[string]any)[field] = value
	out, _ := json.Marshal(m)
	return out
}

func TestOptions(t *testing.T) {
	t.Parallel()
	for _, o := range []sigstore.Options{
		{},
		{Identities: []sigstore.Identity{{Subject: "a@example.com"}}},
		{Identities: []sigstore.Identity{{Issuer: issuer}}},
		{Identities: []sigstore.Identity{{Issuer: issuer, Subject: "a", SubjectRegexp: "b"}}},
		{Identities: []sigstore.Identity{{Issuer: issuer, SubjectRegexp: "("}}},
		{Identities: []sigstore.Identity{{Issuer: issuer, Subject: "a"}}, TrustedRoot: []byte("{}")},
	} {
		if _, err := sigstore.New(o); !errors.Is(err, sigstore.ErrOptions) {
			t.Errorf("New(%+v) = %v, want ErrOptions", o, err)
		}
	}
}

func TestGitHubWorkflow(t *testing.T) {
	t.Parallel()
	id := sigstore.GitHubWorkflow("acme/hello", "release.yml", "")
	if id.Issuer != issuer || !strings.Contains(id.SubjectRegexp, `\.github/workflows/release\.yml@refs/tags/.*`) {
		t.Fatalf("GitHubWorkflow = %+v", id)
	}
	if got := sigstore.PublicGoodTrustedRoot(); !bytes.Contains(got, []byte("fulcio.sigstore.dev")) {
		t.Fatal("the compiled-in trusted root is not the public-good instance's")
	}
}
