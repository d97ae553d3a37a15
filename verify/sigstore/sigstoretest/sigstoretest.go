// Package sigstoretest is a Sigstore instance for tests: a Fulcio
// certificate authority, a Rekor transparency log and a timestamp
// authority made fresh in the test (sigstore-go's testing/ca
// VirtualSigstore), that signs files and attestations keylessly under any
// identity and writes the bundles and the trusted root exactly as the real
// ones are written, so that verify/sigstore and verify/attest check them as
// they would check a real release's.
//
// For signatures published without a bundle (SignDetached: a .sig and a
// .pem), the instance keeps a transparency log and serves it on
// 127.0.0.1 as Rekor's REST API does (ServeRekor), for
// sigstore.Options.RekorURL.
//
// Its keys and certificates are valid for about an hour from New, so
// bundles are made by the test that checks them, never checked in.
package sigstoretest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"sync"
	"testing"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"google.golang.org/protobuf/encoding/protojson"
)

// Sigstore is one test's Sigstore instance.
type Sigstore struct {
	t  testing.TB
	vs *ca.VirtualSigstore

	mu  sync.Mutex
	log []logged // what SignDetached logged, served by ServeRekor
}

// New makes an instance for t.
func New(t testing.TB) *Sigstore {
	t.Helper()
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	return &Sigstore{t: t, vs: vs}
}

// TrustedRoot returns the instance's trusted_root.json, for
// sigstore.Options.TrustedRoot. It lists no certificate-transparency log:
// the test certificates carry no SCT.
func (s *Sigstore) TrustedRoot() []byte {
	s.t.Helper()
	logs := map[string]*root.TransparencyLog{}
	for id, l := range s.vs.RekorLogs() {
		// VirtualSigstore keys its log by the hex of the key's hash but
		// stores that hex as the ID; a trusted root holds the raw bytes.
		c := *l
		raw, err := hex.DecodeString(id)
		if err != nil {
			s.t.Fatal(err)
		}
		c.ID = raw
		logs[id] = &c
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, s.vs.FulcioCertificateAuthorities(),
		map[string]*root.TransparencyLog{}, s.vs.TimestampingAuthorities(), logs)
	if err != nil {
		s.t.Fatal(err)
	}
	data, err := tr.MarshalJSON()
	if err != nil {
		s.t.Fatal(err)
	}
	return data
}

// SignBlob returns the bundle (v0.3, as "cosign sign-blob --bundle" writes
// it) of data signed by a certificate for identity (its subject) from
// issuer, with its log entry, the log's inclusion proof and promise, and a
// timestamp.
func (s *Sigstore) SignBlob(identity, issuer string, data []byte) []byte {
	s.t.Helper()
	e, err := s.vs.Sign(identity, issuer, data)
	if err != nil {
		s.t.Fatal(err)
	}
	return s.bundleOf(e)
}

// Attest returns the bundle of an in-toto statement (JSON) signed, in a
// DSSE envelope, by identity from issuer, as GitHub's attest action makes
// an artifact attestation.
func (s *Sigstore) Attest(identity, issuer string, statement []byte) []byte {
	s.t.Helper()
	e, err := s.vs.AttestAtTime(identity, issuer, statement, time.Now().Add(5*time.Minute), false)
	if err != nil {
		s.t.Fatal(err)
	}
	return s.bundleOf(e)
}

// LegacyBundle returns cosign's older bundle of data signed by identity
// from issuer: base64Signature, cert and rekorBundle, with the log's
// signed entry timestamp and no inclusion proof.
func (s *Sigstore) LegacyBundle(identity, issuer string, data []byte) []byte {
	s.t.Helper()
	e, err := s.vs.Sign(identity, issuer, data)
	if err != nil {
		s.t.Fatal(err)
	}
	vc, _ := e.VerificationContent()
	sc, _ := e.SignatureContent()
	entries, _ := e.TlogEntries()
	tle := s.logEntry(entries[0], false)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: vc.Certificate().Raw})
	b64 := base64.StdEncoding.EncodeToString
	out, err := json.Marshal(map[string]any{
		"base64Signature": b64(sc.Signature()),
		"cert":            b64(certPEM),
		"rekorBundle": map[string]any{
			"SignedEntryTimestamp": b64(tle.GetInclusionPromise().GetSignedEntryTimestamp()),
			"Payload": map[string]any{
				"body":           b64(tle.GetCanonicalizedBody()),
				"integratedTime": tle.GetIntegratedTime(),
				"logIndex":       tle.GetLogIndex(),
				"logID":          hex.EncodeToString(tle.GetLogId().GetKeyId()),
			},
		},
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return out
}

// bundleOf writes a test entity as a bundle v0.3, its log entry re-made
// with an inclusion proof (VirtualSigstore gives blob entries only the
// log's promise, which a v0.3 bundle does not accept alone).
func (s *Sigstore) bundleOf(e *ca.TestEntity) []byte {
	s.t.Helper()
	vc, err := e.VerificationContent()
	if err != nil {
		s.t.Fatal(err)
	}
	entries, err := e.TlogEntries()
	if err != nil || len(entries) != 1 {
		s.t.Fatalf("entity has %d log entries: %v", len(entries), err)
	}
	tle := s.withProof(entries[0])
	stamps, _ := e.Timestamps()
	var rfc []*protocommon.RFC3161SignedTimestamp
	for _, ts := range stamps {
		rfc = append(rfc, &protocommon.RFC3161SignedTimestamp{SignedTimestamp: ts})
	}
	pb := &protobundle.Bundle{
		MediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_Certificate{
				Certificate: &protocommon.X509Certificate{RawBytes: vc.Certificate().Raw},
			},
			TlogEntries:               []*protorekor.TransparencyLogEntry{tle},
			TimestampVerificationData: &protobundle.TimestampVerificationData{Rfc3161Timestamps: rfc},
		},
	}
	sc, err := e.SignatureContent()
	if err != nil {
		s.t.Fatal(err)
	}
	switch c := sc.(type) {
	case *bundle.MessageSignature:
		pb.Content = &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: c.Digest()},
			Signature:     c.Signature(),
		}}
	case *bundle.Envelope:
		env := c.RawEnvelope()
		payload, err := base64.StdEncoding.DecodeString(env.Payload)
		if err != nil {
			s.t.Fatal(err)
		}
		d := &protodsse.Envelope{Payload: payload, PayloadType: env.PayloadType}
		for _, sig := range env.Signatures {
			raw, err := base64.StdEncoding.DecodeString(sig.Sig)
			if err != nil {
				s.t.Fatal(err)
			}
			d.Signatures = append(d.Signatures, &protodsse.Signature{Sig: raw, Keyid: sig.KeyID})
		}
		pb.Content = &protobundle.Bundle_DsseEnvelope{DsseEnvelope: d}
	default:
		s.t.Fatalf("unexpected signature content %T", sc)
	}
	data, err := protojson.Marshal(pb)
	if err != nil {
		s.t.Fatal(err)
	}
	return data
}

// withProof re-makes a log entry as the first of a log of one, with an
// inclusion proof and a signed entry timestamp that agree on its index.
// (VirtualSigstore keeps the timestamp out of the protobuf entry it gives.)
func (s *Sigstore) withProof(e *tlog.Entry) *protorekor.TransparencyLogEntry {
	s.t.Helper()
	return s.logEntry(e, true)
}

// logEntry writes a log entry in protobuf form, with a fresh signed entry
// timestamp and, if proof is set, an inclusion proof (at index 0 of a log
// of one entry, the proof VirtualSigstore can make).
func (s *Sigstore) logEntry(e *tlog.Entry, proof bool) *protorekor.TransparencyLogEntry {
	s.t.Helper()
	old := e.TransparencyLogEntry()
	body := old.GetCanonicalizedBody()
	logID := old.GetLogId().GetKeyId()
	index := old.GetLogIndex()
	if proof {
		index = 0
	}
	set, err := s.vs.RekorSignPayload(tlog.RekorPayload{
		Body: base64.StdEncoding.EncodeToString(body), IntegratedTime: old.GetIntegratedTime(),
		LogIndex: index, LogID: hex.EncodeToString(logID),
	})
	if err != nil {
		s.t.Fatal(err)
	}
	var kv struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
	}
	if err := json.Unmarshal(body, &kv); err != nil {
		s.t.Fatal(err)
	}
	tle := &protorekor.TransparencyLogEntry{
		LogIndex:          index,
		LogId:             &protocommon.LogId{KeyId: logID},
		KindVersion:       &protorekor.KindVersion{Kind: kv.Kind, Version: kv.APIVersion},
		IntegratedTime:    old.GetIntegratedTime(),
		InclusionPromise:  &protorekor.InclusionPromise{SignedEntryTimestamp: set},
		CanonicalizedBody: body,
	}
	if proof {
		p, err := s.vs.GetInclusionProof(body)
		if err != nil {
			s.t.Fatal(err)
		}
		root, err := hex.DecodeString(*p.RootHash)
		if err != nil {
			s.t.Fatal(err)
		}
		tle.InclusionProof = &protorekor.InclusionProof{
			LogIndex: *p.LogIndex, RootHash: root, TreeSize: *p.TreeSize,
			Checkpoint: &protorekor.Checkpoint{Envelope: *p.Checkpoint},
		}
	}
	return tle
}

// Subject is one artifact an attestation is about.
type Subject struct {
	Name string
	Data []byte
}

// Provenance returns an in-toto statement of SLSA provenance v1 for the
// subjects, as GitHub's attest-build-provenance action writes it for a
// workflow of repo ("owner/name") at ref.
func Provenance(repo, workflow, ref string, subjects ...Subject) []byte {
	type digest struct {
		SHA256 string `json:"sha256"`
	}
	var subj []map[string]any
	for _, s := range subjects {
		sum := sha256.Sum256(s.Data)
		subj = append(subj, map[string]any{"name": s.Name, "digest": digest{hex.EncodeToString(sum[:])}})
	}
	st := map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       subj,
		"predicateType": "https://slsa.dev/provenance/v1",
		"predicate": map[string]any{
			"buildDefinition": map[string]any{
				"buildType": "https://actions.github.io/buildtypes/workflow/v1",
				"externalParameters": map[string]any{"workflow": map[string]any{
					"ref": ref, "repository": "https://github.com/" + repo, "path": workflow,
				}},
			},
			"runDetails": map[string]any{"builder": map[string]any{"id": "https://github.com/actions/runner/github-hosted"}},
		},
	}
	data, _ := json.Marshal(st)
	return data
}
