// Package rekorapi is the part of Rekor's REST API (v1) that
// verify/sigstore uses to find a signature in the transparency log, and
// that sigstoretest serves: one definition of the wire format for the
// client and the test log.
package rekorapi

import (
	"crypto/sha256"
	"encoding/hex"
)

// The two endpoints, under the log's base URL.
const (
	// SearchPath answers a SearchIndex (POST, JSON) with a JSON array of
	// the UUIDs of the entries that match.
	SearchPath = "/api/v1/index/retrieve"
	// EntryPath, followed by "/" and a UUID, answers (GET) a JSON object
	// of one member, the UUID, whose value is the LogEntry.
	EntryPath = "/api/v1/log/entries"
)

// SearchIndex is a query of the log's index: the entries for an
// artifact's digest ("sha256:<hex>") and, with Operator "and", made with
// a public key or certificate too.
type SearchIndex struct {
	Hash      string     `json:"hash,omitempty"`
	PublicKey *PublicKey `json:"publicKey,omitempty"`
	Operator  string     `json:"operator,omitempty"` // "and" or "or" (the default)
}

// PublicKey is a key or certificate as the index is searched by it:
// Content is its PEM (base64 in JSON), Format "x509" for a certificate.
type PublicKey struct {
	Format  string `json:"format"`
	Content []byte `json:"content"`
}

// LogEntry is one entry as the log answers it.
type LogEntry struct {
	// Body is the canonicalized entry (base64), for a signed blob a
	// hashedrekord holding the digest, the signature and the certificate.
	Body           string `json:"body"`
	IntegratedTime int64  `json:"integratedTime"`
	LogID          string `json:"logID"` // hex of the SHA-256 of the log's public key
	// LogIndex is the entry's index across all the log's shards, the one
	// the signed entry timestamp covers; the inclusion proof has its own
	// index, in the shard's tree.
	LogIndex     int64        `json:"logIndex"`
	Verification Verification `json:"verification"`
}

// Verification is the log's evidence for an entry.
type Verification struct {
	InclusionProof *InclusionProof `json:"inclusionProof,omitempty"`
	// SignedEntryTimestamp (base64) is the log's signature over the
	// entry's body, integrated time, index and log ID: its promise that
	// the entry is in the log.
	SignedEntryTimestamp string `json:"signedEntryTimestamp,omitempty"`
}

// InclusionProof is a Merkle proof of an entry in the tree of a signed
// checkpoint.
type InclusionProof struct {
	Checkpoint string   `json:"checkpoint"`
	Hashes     []string `json:"hashes"` // hex
	LogIndex   int64    `json:"logIndex"`
	RootHash   string   `json:"rootHash"` // hex
	TreeSize   int64    `json:"treeSize"`
}

// LeafHash returns the hex of the Merkle leaf hash of a canonicalized
// body (RFC 6962): the last 64 hex digits of its entry's UUID.
func LeafHash(body []byte) string {
	sum := sha256.Sum256(append([]byte{0}, body...))
	return hex.EncodeToString(sum[:])
}
