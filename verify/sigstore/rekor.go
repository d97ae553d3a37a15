package sigstore

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"

	"github.com/molt-go/update/internal/httpx"
	"github.com/molt-go/update/verify/sigstore/internal/rekorapi"
)

// DefaultRekorURL is the transparency log of Sigstore's public-good
// instance, where the signatures its Fulcio certifies are logged; it is
// the log of PublicGoodTrustedRoot, and the default of Options.RekorURL.
const DefaultRekorURL = "https://rekor.sigstore.dev"

// Bounds on a lookup in the log, which is not trusted for anything but
// what its key signs.
const (
	// maxLogAnswer caps each answer read from the log. One entry (a
	// hashedrekord of a signature and a certificate, base64 twice, with
	// an inclusion proof of a few dozen hashes and a checkpoint) is 5 to
	// 10 KiB; an index answer of this size lists some 780 entries, many
	// more than are looked at.
	maxLogAnswer = 64 << 10
	// maxEntriesLooked caps the entries fetched for one signature. Anyone
	// who has a file can log a signature of their own over it, so the
	// index may list many entries for a release's checksums file; the
	// lookup asks first for the ones made with the downloaded certificate,
	// which others cannot make, and looks at no more than this many.
	maxEntriesLooked = 16
	// rekorTimeout bounds each request to the log, so that a log that
	// accepts the connection and then stalls fails the lookup instead of
	// holding the update for as long as the caller's context allows.
	rekorTimeout = 30 * time.Second
)

// rekorClient looks signatures up in a Rekor log.
type rekorClient struct {
	base *url.URL
	hc   *http.Client
}

// newRekorClient checks the log's URL: https, or http to a loopback
// address (a test log), since the answers travel in the clear otherwise
// and, though the log's signatures protect them, a lookup that can be
// silenced by anyone on the path is not worth making.
func newRekorClient(rawURL string, hc *http.Client) (*rekorClient, error) {
	if rawURL == "" {
		rawURL = DefaultRekorURL
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("RekorURL: %v", err)
	}
	if u.Host == "" || u.RawQuery != "" || u.Fragment != "" || (u.Scheme != "https" && !(u.Scheme == "http" && loopback(u.Hostname()))) {
		return nil, fmt.Errorf("RekorURL %q: want https://host[/path] (http only to a loopback address)", rawURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return &rekorClient{base: u, hc: httpx.Client(hc)}, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// find returns the log's entry for the signature sig, made by cert (DER)
// over a file whose SHA-256 is digest, in the protobuf form a bundle
// holds. It asks the index for the entries of the digest made with the
// certificate, then, if there are none (a log that indexed the
// certificate in another encoding), for all the entries of the digest,
// and keeps the first whose signature, certificate and digest are the
// downloaded ones. Nothing it returns is trusted yet: the caller verifies
// the entry's signed promise against the trusted root.
func (c *rekorClient) find(ctx context.Context, digest, sig, cert []byte) (*protorekor.TransparencyLogEntry, error) {
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert})
	hash := "sha256:" + hex.EncodeToString(digest)
	uuids, err := c.search(ctx, rekorapi.SearchIndex{Hash: hash, Operator: "and",
		PublicKey: &rekorapi.PublicKey{Format: "x509", Content: certPEM}})
	if err == nil && len(uuids) == 0 {
		uuids, err = c.search(ctx, rekorapi.SearchIndex{Hash: hash})
	}
	if err != nil {
		return nil, err
	}
	if len(uuids) == 0 {
		return nil, fmt.Errorf("%w: the log %s has no entry for %s", ErrNotInLog, c.base.Redacted(), hash)
	}
	looked := 0
	for _, id := range uuids {
		if looked == maxEntriesLooked {
			break
		}
		looked++
		e, err := c.entry(ctx, id)
		if err != nil {
			return nil, err
		}
		if e == nil {
			continue // listed by the index, but gone
		}
		tle, ok, err := matchEntry(e, digest, sig, cert)
		if err != nil {
			return nil, fmt.Errorf("%w: %s entry %s: %v", ErrLogUnreachable, c.base.Redacted(), id, err)
		}
		if ok {
			return tle, nil
		}
	}
	return nil, fmt.Errorf("%w: none of the %d entries the log %s has for %s (%d looked at) is for this signature and certificate",
		ErrLogMismatch, len(uuids), c.base.Redacted(), hash, looked)
}

// search asks the log's index for the UUIDs of the entries q matches.
func (c *rekorClient) search(ctx context.Context, q rekorapi.SearchIndex) ([]string, error) {
	body, err := json.Marshal(q)
	if err != nil {
		return nil, err
	}
	data, err := c.do(ctx, http.MethodPost, c.base.String()+rekorapi.SearchPath, body)
	if err != nil || data == nil {
		return nil, err
	}
	var uuids []string
	if err := json.Unmarshal(data, &uuids); err != nil {
		return nil, fmt.Errorf("%w: %s: the index's answer is not a list of UUIDs: %v", ErrLogUnreachable, c.base.Redacted(), err)
	}
	seen := map[string]bool{}
	out := uuids[:0]
	for _, id := range uuids {
		if id = strings.ToLower(id); !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, nil
}

// entry fetches one entry by its UUID, and checks that the log answered
// with that entry: the body's leaf hash is the UUID's. It returns nil,
// without an error, for an entry the log says it does not have.
func (c *rekorClient) entry(ctx context.Context, id string) (*rekorapi.LogEntry, error) {
	if !validUUID(id) {
		return nil, fmt.Errorf("%w: %s: the index lists %q, not an entry UUID", ErrLogUnreachable, c.base.Redacted(), id)
	}
	data, err := c.do(ctx, http.MethodGet, c.base.String()+rekorapi.EntryPath+"/"+id, nil)
	if err != nil || data == nil {
		return nil, err
	}
	var ans map[string]rekorapi.LogEntry
	if err := json.Unmarshal(data, &ans); err != nil || len(ans) != 1 {
		return nil, fmt.Errorf("%w: %s: entry %s: the answer is not one log entry (%v)", ErrLogUnreachable, c.base.Redacted(), id, err)
	}
	var key string
	var e rekorapi.LogEntry
	for key, e = range ans { // its one member
	}
	body, err := base64.StdEncoding.DecodeString(e.Body)
	leaf := rekorapi.LeafHash(body)
	if err != nil || !strings.HasSuffix(id, leaf) || !strings.HasSuffix(strings.ToLower(key), leaf) {
		return nil, fmt.Errorf("%w: %s: asked for entry %s, got another", ErrLogUnreachable, c.base.Redacted(), id)
	}
	return &e, nil
}

// validUUID reports whether id is an entry UUID: the leaf hash (64 hex
// digits), after the shard's tree ID (16 more) on a sharded log.
func validUUID(id string) bool {
	if len(id) != 64 && len(id) != 80 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil
}

// do makes one request to the log within rekorTimeout and returns the
// answer, read up to maxLogAnswer bytes; nil, without an error, for 404.
// Every failure wraps ErrLogUnreachable.
func (c *rekorClient) do(ctx context.Context, method, u string, body []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, rekorTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrLogUnreachable, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLogUnreachable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, nil
	}
	if err := httpx.StatusError(resp); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLogUnreachable, err)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxLogAnswer+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s %s: %w", ErrLogUnreachable, method, req.URL.Redacted(), err)
	}
	if len(data) > maxLogAnswer {
		return nil, fmt.Errorf("%w: %s %s: the answer is larger than %d bytes", ErrLogUnreachable, method, req.URL.Redacted(), maxLogAnswer)
	}
	return data, nil
}

// hashedRekord is the body of a log entry of a signed blob.
type hashedRekord struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Spec       struct {
		Data struct {
			Hash struct {
				Algorithm string `json:"algorithm"`
				Value     string `json:"value"`
			} `json:"hash"`
		} `json:"data"`
		Signature struct {
			Content   []byte `json:"content"`
			PublicKey struct {
				Content []byte `json:"content"` // a PEM certificate
			} `json:"publicKey"`
		} `json:"signature"`
	} `json:"spec"`
}

// matchEntry reports whether the log entry e is a hashedrekord of sig,
// made by cert (DER), over the SHA-256 digest, and returns it in protobuf
// form. An entry of another kind or for other bytes is not a match; an
// error means the log's answer is malformed.
func matchEntry(e *rekorapi.LogEntry, digest, sig, cert []byte) (*protorekor.TransparencyLogEntry, bool, error) {
	body, err := base64.StdEncoding.DecodeString(e.Body)
	if err != nil {
		return nil, false, fmt.Errorf("body: %v", err)
	}
	var hr hashedRekord
	if json.Unmarshal(body, &hr) != nil || hr.Kind != "hashedrekord" {
		return nil, false, nil
	}
	block, _ := pem.Decode(hr.Spec.Signature.PublicKey.Content)
	if hr.Spec.Data.Hash.Algorithm != "sha256" || hr.Spec.Data.Hash.Value != hex.EncodeToString(digest) ||
		!bytes.Equal(hr.Spec.Signature.Content, sig) || block == nil || !bytes.Equal(block.Bytes, cert) {
		return nil, false, nil
	}
	logID, err := hex.DecodeString(e.LogID)
	if err != nil {
		return nil, false, fmt.Errorf("logID: %v", err)
	}
	set, err := base64.StdEncoding.DecodeString(e.Verification.SignedEntryTimestamp)
	if err != nil {
		return nil, false, fmt.Errorf("signedEntryTimestamp: %v", err)
	}
	tle := &protorekor.TransparencyLogEntry{
		LogIndex:          e.LogIndex,
		LogId:             &protocommon.LogId{KeyId: logID},
		KindVersion:       &protorekor.KindVersion{Kind: hr.Kind, Version: hr.APIVersion},
		IntegratedTime:    e.IntegratedTime,
		CanonicalizedBody: body,
	}
	if len(set) > 0 {
		tle.InclusionPromise = &protorekor.InclusionPromise{SignedEntryTimestamp: set}
	}
	if p := e.Verification.InclusionProof; p != nil {
		root, err := hex.DecodeString(p.RootHash)
		if err != nil {
			return nil, false, fmt.Errorf("inclusionProof.rootHash: %v", err)
		}
		hashes := make([][]byte, len(p.Hashes))
		for i, h := range p.Hashes {
			if hashes[i], err = hex.DecodeString(h); err != nil {
				return nil, false, fmt.Errorf("inclusionProof.hashes: %v", err)
			}
		}
		tle.InclusionProof = &protorekor.InclusionProof{
			LogIndex: p.LogIndex, RootHash: root, TreeSize: p.TreeSize, Hashes: hashes,
			Checkpoint: &protorekor.Checkpoint{Envelope: p.Checkpoint},
		}
	}
	return tle, true, nil
}
