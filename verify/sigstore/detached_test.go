package sigstore_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/molt-go/update/source"
	"github.com/molt-go/update/verify"
	"github.com/molt-go/update/verify/sigstore"
	"github.com/molt-go/update/verify/sigstore/sigstoretest"
)

// detachedVerifier is newVerifier for the log rk.
func detachedVerifier(t *testing.T, ss *sigstoretest.Sigstore, rk *sigstoretest.Rekor, ids ...sigstore.Identity) *sigstore.Verifier {
	t.Helper()
	if len(ids) == 0 {
		ids = []sigstore.Identity{sigstore.GitHubWorkflow("acme/hello", "release.yml", "refs/tags/v*")}
	}
	return mustNew(t, sigstore.Options{Identities: ids, TrustedRoot: ss.TrustedRoot(), RekorURL: rk.URL})
}

// TestVerifyWithCertificate checks a .sig and .pem published without a
// bundle, looked up in a Rekor log on 127.0.0.1: accepted for the pinned
// workflow when the log vouches for it, refused for every other signer,
// for a signature the log does not hold, and for an entry whose log
// evidence is forged; a log that floods or is down is no verdict.
func TestVerifyWithCertificate(t *testing.T) {
	t.Parallel()
	ss := sigstoretest.New(t)
	data := []byte("0123abcd  hello_1.2.3_linux_amd64.tar.gz\n")
	good := ss.SignDetached(workflowSAN, issuer, data)
	again := ss.SignDetached(workflowSAN, issuer, data) // the same file signed twice: two certificates
	ciWorkflow := ss.SignDetached("https://github.com/acme/hello/.github/workflows/ci.yml@refs/tags/v1.2.3", issuer, data)
	otherIssuer := ss.SignDetached(workflowSAN, "https://accounts.example.com", data)
	// Someone else's signatures of the same public file, logged too.
	for range 20 {
		ss.SignDetached("mallory@example.com", "https://accounts.example.com", data)
	}
	// A signature the log does not have, by another Sigstore.
	unlogged := sigstoretest.New(t).SignDetached(workflowSAN, issuer, data)
	rk := ss.ServeRekor()
	v := detachedVerifier(t, ss, rk)
	// A log that answers with a signed entry timestamp its key did not make.
	otherSET := ss.ServeRekor()
	otherSET.Edit(func(_ string, e *sigstoretest.LogEntry) {
		e.Verification.SignedEntryTimestamp = base64.StdEncoding.EncodeToString([]byte("MEUCIQDforgedforgedforgedforgedforgedforged"))
	})
	noProof := ss.ServeRekor()
	noProof.Edit(func(_ string, e *sigstoretest.LogEntry) { e.Verification.InclusionProof = nil })
	badProof := ss.ServeRekor()
	badProof.Edit(func(_ string, e *sigstoretest.LogEntry) {
		e.Verification.InclusionProof.RootHash = "00000000000000000000000000000000000000000000000000000000000000aa"
	})
	promiseOnlyForged := ss.ServeRekor()
	promiseOnlyForged.Edit(func(_ string, e *sigstoretest.LogEntry) {
		e.Verification.InclusionProof = nil
		e.IntegratedTime++ // the promise no longer covers the entry
	})
	anotherBody := ss.ServeRekor()
	anotherBody.Edit(func(_ string, e *sigstoretest.LogEntry) {
		e.Body = base64.StdEncoding.EncodeToString([]byte(`{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{}}`))
	})
	proofOnly := ss.ServeRekor()
	proofOnly.Edit(func(_ string, e *sigstoretest.LogEntry) { e.Verification.SignedEntryTimestamp = "" })
	hugeEntry := ss.ServeRekor()
	hugeEntry.Edit(func(_ string, e *sigstoretest.LogEntry) {
		e.Body += strings.Repeat("A", 64<<10) // what a broken read would take as the entry
	})
	empty := sigstoretest.New(t).ServeRekor()
	down := ss.ServeRekor()
	down.Close()
	for _, tc := range []struct {
		name string
		v    *sigstore.Verifier
		d    sigstoretest.Detached
		data []byte
		want error // nil: verifies
	}{
		{"the pinned workflow", v, good, data, nil},
		{"the second signature of the same file", v, again, data, nil},
		{"an exact subject", detachedVerifier(t, ss, rk, sigstore.Identity{Issuer: issuer, Subject: workflowSAN}), good, data, nil},
		{"an entry with the log's promise only", detachedVerifier(t, ss, noProof), good, data, nil},
		{"a PEM certificate file", v, sigstoretest.Detached{Sig: good.Sig, Cert: decode(t, good.Cert)}, data, nil},
		{"another workflow", v, ciWorkflow, data, sigstore.ErrUntrusted},
		{"another issuer", v, otherIssuer, data, sigstore.ErrUntrusted},
		{"someone else's identity", detachedVerifier(t, ss, rk, sigstore.Identity{Issuer: issuer, Subject: "someone@example.com"}), good, data, sigstore.ErrUntrusted},
		{"other bytes", v, good, []byte("other"), sigstore.ErrNotInLog},
		{"a signature the log has no entry for", v, unlogged, data, sigstore.ErrLogMismatch},
		{"the signature of one entry with the certificate of another", v, sigstoretest.Detached{Sig: again.Sig, Cert: good.Cert}, data, sigstore.ErrLogMismatch},
		{"a log that has nothing for the file", detachedVerifier(t, ss, empty), good, data, sigstore.ErrNotInLog},
		{"a forged signed entry timestamp", detachedVerifier(t, ss, otherSET), good, data, sigstore.ErrUntrusted},
		{"a forged inclusion proof", detachedVerifier(t, ss, badProof), good, data, sigstore.ErrUntrusted},
		{"a promise that does not cover the entry", detachedVerifier(t, ss, promiseOnlyForged), good, data, sigstore.ErrUntrusted},
		{"an inclusion proof without the log's promise (no signed time)", detachedVerifier(t, ss, proofOnly), good, data, sigstore.ErrUntrusted},
		{"another Sigstore's trusted root", mustNew(t, sigstore.Options{Identities: []sigstore.Identity{{Issuer: issuer, Subject: workflowSAN}},
			TrustedRoot: sigstoretest.New(t).TrustedRoot(), RekorURL: rk.URL}), good, data, sigstore.ErrUntrusted},
		{"not a signature", v, sigstoretest.Detached{Sig: []byte("-----BEGIN PGP SIGNATURE-----"), Cert: good.Cert}, data, sigstore.ErrBundle},
		{"not a certificate", v, sigstoretest.Detached{Sig: good.Sig, Cert: []byte("bm90IGEgY2VydGlmaWNhdGU=")}, data, sigstore.ErrBundle},
		{"offline", mustNew(t, sigstore.Options{Identities: []sigstore.Identity{{Issuer: issuer, Subject: workflowSAN}},
			TrustedRoot: ss.TrustedRoot(), RekorURL: rk.URL, Offline: true}), good, data, sigstore.ErrBundle},
		{"a log that answers another entry", detachedVerifier(t, ss, anotherBody), good, data, sigstore.ErrLogUnreachable},
		{"an entry larger than the cap", detachedVerifier(t, ss, hugeEntry), good, data, sigstore.ErrLogUnreachable},
		{"a log that is down", detachedVerifier(t, ss, down), good, data, sigstore.ErrLogUnreachable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.v.VerifyWithCertificate(context.Background(), bytes.NewReader(tc.data), tc.d.Sig, tc.d.Cert)
			t.Log(err)
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("VerifyWithCertificate: %v", err)
			case tc.want == nil:
			case !errors.Is(err, tc.want):
				t.Fatalf("VerifyWithCertificate = %v, want %v", err, tc.want)
			case errors.Is(tc.want, verify.ErrBadSignature) != errors.Is(err, verify.ErrBadSignature):
				t.Fatalf("VerifyWithCertificate = %v: a verdict only when the log answered", err)
			case tc.want == sigstore.ErrLogUnreachable && !errors.Is(err, source.ErrUnavailable):
				t.Fatalf("VerifyWithCertificate = %v, want source.ErrUnavailable too", err)
			}
		})
	}
}

// TestVerifyWithCertificateAsksTheLog: the lookup asks the configured log,
// and an offline verifier asks nothing.
func TestVerifyWithCertificateAsksTheLog(t *testing.T) {
	t.Parallel()
	ss := sigstoretest.New(t)
	data := []byte("sums\n")
	d := ss.SignDetached(workflowSAN, issuer, data)
	rk := ss.ServeRekor()
	if err := detachedVerifier(t, ss, rk).VerifyWithCertificate(context.Background(), bytes.NewReader(data), d.Sig, d.Cert); err != nil {
		t.Fatal(err)
	}
	if n, _ := rk.Requests(); n != 2 {
		t.Fatalf("the log got %d requests, want 2 (the search, the entry)", n)
	}
	off := mustNew(t, sigstore.Options{Identities: []sigstore.Identity{{Issuer: issuer, Subject: workflowSAN}},
		TrustedRoot: ss.TrustedRoot(), RekorURL: rk.URL, Offline: true})
	if err := off.VerifyWithCertificate(context.Background(), bytes.NewReader(data), d.Sig, d.Cert); !errors.Is(err, sigstore.ErrBundle) {
		t.Fatalf("offline: %v, want ErrBundle", err)
	}
	if n, _ := rk.Requests(); n != 2 {
		t.Fatalf("an offline verifier asked the log (%d requests)", n-2)
	}
}

// TestVerifyWithCertificateFlood: a log that follows its answer with
// endless (valid) blanks is read no further than the answer's cap.
func TestVerifyWithCertificateFlood(t *testing.T) {
	t.Parallel()
	ss := sigstoretest.New(t)
	data := []byte("sums\n")
	d := ss.SignDetached(workflowSAN, issuer, data)
	rk := ss.ServeRekor()
	const flood = 1 << 30
	rk.Flood(flood)
	err := detachedVerifier(t, ss, rk).VerifyWithCertificate(context.Background(), bytes.NewReader(data), d.Sig, d.Cert)
	if !errors.Is(err, sigstore.ErrLogUnreachable) {
		t.Fatalf("VerifyWithCertificate = %v, want ErrLogUnreachable", err)
	}
	rk.Close()
	if n, written := rk.Requests(); n != 1 || written >= flood {
		t.Fatalf("%d requests, %d bytes written: the client read the whole flood", n, written)
	}
}

// TestVerifyWithCertificateCanceled: the caller's context ends the lookup.
func TestVerifyWithCertificateCanceled(t *testing.T) {
	t.Parallel()
	ss := sigstoretest.New(t)
	data := []byte("sums\n")
	d := ss.SignDetached(workflowSAN, issuer, data)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := detachedVerifier(t, ss, ss.ServeRekor()).VerifyWithCertificate(ctx, bytes.NewReader(data), d.Sig, d.Cert)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, sigstore.ErrLogUnreachable) {
		t.Fatalf("VerifyWithCertificate = %v, want context.Canceled and ErrLogUnreachable", err)
	}
}

func TestRekorURLOptions(t *testing.T) {
	t.Parallel()
	ids := []sigstore.Identity{{Issuer: issuer, Subject: workflowSAN}}
	for _, u := range []string{"http://rekor.example.com", "ftp://127.0.0.1", "https://", "https://rekor.example.com/?q=1", "::"} {
		if _, err := sigstore.New(sigstore.Options{Identities: ids, RekorURL: u}); !errors.Is(err, sigstore.ErrOptions) {
			t.Errorf("RekorURL %q: %v, want ErrOptions", u, err)
		}
	}
	for _, u := range []string{"", "https://rekor.example.com/", "http://127.0.0.1:3000", "http://[::1]:3000", "http://localhost"} {
		if _, err := sigstore.New(sigstore.Options{Identities: ids, RekorURL: u}); err != nil {
			t.Errorf("RekorURL %q: %v", u, err)
		}
	}
	// Offline, the URL is not used, so not checked either.
	if _, err := sigstore.New(sigstore.Options{Identities: ids, RekorURL: "http://rekor.example.com", Offline: true}); err != nil {
		t.Errorf("offline: %v", err)
	}
}

func decode(t *testing.T, b64 []byte) []byte {
	t.Helper()
	out, err := base64.StdEncoding.DecodeString(string(b64))
	if err != nil {
		t.Fatal(err)
	}
	return out
}
