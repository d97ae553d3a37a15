package sigstoretest

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"

	"github.com/molt-go/update/verify/sigstore/internal/rekorapi"
)

// Detached is a signature published without a bundle, as "cosign
// sign-blob --output-signature --output-certificate" writes it, and as
// goreleaser's default signing publishes checksums.txt.sig and
// checksums.txt.pem.
type Detached struct {
	Sig  []byte // the .sig file: base64 of the signature
	Cert []byte // the .pem file: base64 of the certificate's PEM
}

// LogEntry is a log entry as the Rekor API answers it, for Rekor.Edit.
type LogEntry = rekorapi.LogEntry

// treeID is the shard prefix of the test log's entry UUIDs (the
// public-good log's current one), so that UUIDs have Rekor's 80 digits.
const treeID = "24296fb24b8ad77a"

// logged is one entry of the instance's log.
type logged struct {
	uuid   string
	hash   string // "sha256:<hex>" of the signed file
	cert   []byte // DER
	answer LogEntry
}

// SignDetached signs data as SignBlob does, logs the signature in the
// instance's transparency log (served by ServeRekor), and returns the
// .sig and .pem files. Each entry is the first of a log of one, with an
// inclusion proof and a signed entry timestamp for index 0: the proof
// VirtualSigstore can make.
func (s *Sigstore) SignDetached(identity, issuer string, data []byte) Detached {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.vs.Sign(identity, issuer, data)
	if err != nil {
		s.t.Fatal(err)
	}
	vc, _ := e.VerificationContent()
	sc, _ := e.SignatureContent()
	entries, _ := e.TlogEntries()
	tle := s.logEntry(entries[0], true)
	body := tle.GetCanonicalizedBody()
	p := tle.GetInclusionProof()
	hashes := make([]string, len(p.GetHashes()))
	for i, h := range p.GetHashes() {
		hashes[i] = hex.EncodeToString(h)
	}
	b64 := base64.StdEncoding.EncodeToString
	der := vc.Certificate().Raw
	digest := sc.MessageSignatureContent().Digest()
	s.log = append(s.log, logged{
		uuid: treeID + rekorapi.LeafHash(body),
		hash: "sha256:" + hex.EncodeToString(digest),
		cert: der,
		answer: LogEntry{
			Body:           b64(body),
			IntegratedTime: tle.GetIntegratedTime(),
			LogID:          hex.EncodeToString(tle.GetLogId().GetKeyId()),
			LogIndex:       tle.GetLogIndex(),
			Verification: rekorapi.Verification{
				SignedEntryTimestamp: b64(tle.GetInclusionPromise().GetSignedEntryTimestamp()),
				InclusionProof: &rekorapi.InclusionProof{
					Checkpoint: p.GetCheckpoint().GetEnvelope(), Hashes: hashes, LogIndex: p.GetLogIndex(),
					RootHash: hex.EncodeToString(p.GetRootHash()), TreeSize: p.GetTreeSize(),
				},
			},
		},
	})
	return Detached{
		Sig:  []byte(b64(sc.Signature())),
		Cert: []byte(b64(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))),
	}
}

// Rekor is the instance's transparency log served on 127.0.0.1 the way
// Rekor's REST API serves it: the index search (POST
// /api/v1/index/retrieve, by digest, and with operator "and" by
// certificate too) and the entries (GET /api/v1/log/entries/{uuid}). Its
// methods make it misbehave, as a log or the network may.
type Rekor struct {
	// URL is the log's base URL, for sigstore.Options.RekorURL.
	URL string

	s   *Sigstore
	srv *httptest.Server

	mu       sync.Mutex
	edit     func(uuid string, e *LogEntry)
	flood    int64
	requests int
	written  int64
}

// ServeRekor starts serving the instance's log, until the test ends or
// Close.
func (s *Sigstore) ServeRekor() *Rekor {
	r := &Rekor{s: s}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	r.URL = r.srv.URL
	s.t.Cleanup(r.Close)
	return r
}

// Close stops the log, waiting for the answers under way: a lookup then
// finds nothing listening.
func (r *Rekor) Close() { r.srv.Close() }

// Edit has the log answer every entry as fn changes it: a forged
// timestamp, a proof removed, another body.
func (r *Rekor) Edit(fn func(uuid string, e *LogEntry)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.edit = fn
}

// Flood has the log follow every answer with n bytes of blanks, which
// leave it valid JSON: a client that reads without a limit reads them all.
func (r *Rekor) Flood(n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.flood = n
}

// Requests returns how many requests the log has answered, and how many
// bytes it managed to write (after Close, all of them).
func (r *Rekor) Requests() (n int, written int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests, r.written
}

func (r *Rekor) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.requests++
	edit, flood := r.edit, r.flood
	r.mu.Unlock()
	var answer any
	switch {
	case req.Method == http.MethodPost && req.URL.Path == rekorapi.SearchPath:
		var q rekorapi.SearchIndex
		if err := json.NewDecoder(io.LimitReader(req.Body, 1<<20)).Decode(&q); err != nil || q.Hash == "" {
			http.Error(w, `{"code":400,"message":"bad search"}`, http.StatusBadRequest)
			return
		}
		answer = r.search(q)
	case req.Method == http.MethodGet && strings.HasPrefix(req.URL.Path, rekorapi.EntryPath+"/"):
		id := strings.ToLower(strings.TrimPrefix(req.URL.Path, rekorapi.EntryPath+"/"))
		e, ok := r.entry(id)
		if !ok {
			http.Error(w, `{"code":404,"message":"entry not found"}`, http.StatusNotFound)
			return
		}
		if edit != nil {
			edit(e.uuid, &e.answer)
		}
		answer = map[string]LogEntry{e.uuid: e.answer}
	default:
		http.NotFound(w, req)
		return
	}
	data, _ := json.Marshal(answer)
	w.Header().Set("Content-Type", "application/json")
	n, err := w.Write(data)
	r.wrote(n)
	blanks := bytes.Repeat([]byte(" "), 32<<10)
	for left := flood; err == nil && left > 0; left -= int64(len(blanks)) {
		n, err = w.Write(blanks[:min(int64(len(blanks)), left)])
		r.wrote(n)
	}
}

func (r *Rekor) wrote(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.written += int64(n)
}

// search answers the UUIDs of the entries for q's digest, and with
// operator "and" only those made by q's certificate.
func (r *Rekor) search(q rekorapi.SearchIndex) []string {
	var cert []byte
	if q.PublicKey != nil {
		if b, _ := pem.Decode(q.PublicKey.Content); b != nil {
			cert = b.Bytes
		}
	}
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	uuids := []string{}
	for _, e := range r.s.log {
		byHash := strings.EqualFold(e.hash, q.Hash)
		byCert := cert != nil && bytes.Equal(e.cert, cert)
		if (q.Operator == "and" && byHash && (q.PublicKey == nil || byCert)) || (q.Operator != "and" && (byHash || byCert)) {
			uuids = append(uuids, e.uuid)
		}
	}
	return uuids
}

// entry finds an entry by its UUID, with or without the tree ID.
func (r *Rekor) entry(id string) (logged, bool) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	for _, e := range r.s.log {
		if e.uuid == id || e.uuid[len(treeID):] == id {
			if p := e.answer.Verification.InclusionProof; p != nil {
				c := *p // an Edit changes this answer, not the log
				c.Hashes = append([]string(nil), p.Hashes...)
				e.answer.Verification.InclusionProof = &c
			}
			return e, true
		}
	}
	return logged{}, false
}
