package sigstore

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"strconv"
)

// legacyBundle is cosign's bundle from before the protobuf bundle
// ("cosign sign-blob --bundle" up to cosign 2): the signature, the
// certificate (base64 of its PEM) and Rekor's answer for its log entry,
// with the log's signed entry timestamp, which promises inclusion.
type legacyBundle struct {
	Base64Signature string `json:"base64Signature"`
	Cert            string `json:"cert"`
	RekorBundle     *struct {
		SignedEntryTimestamp string `json:"SignedEntryTimestamp"`
		Payload              struct {
			Body           string `json:"body"`
			IntegratedTime int64  `json:"integratedTime"`
			LogIndex       int64  `json:"logIndex"`
			LogID          string `json:"logID"`
		} `json:"Payload"`
	} `json:"rekorBundle"`
}

// rekorBody is what the legacy bundle's log entry says about itself: its
// kind and version, and for a hashedrekord the digest it was made for.
type rekorBody struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Spec       struct {
		Data struct {
			Hash struct {
				Algorithm string `json:"algorithm"`
				Value     string `json:"value"`
			} `json:"hash"`
		} `json:"data"`
	} `json:"spec"`
}

// parseLegacy rewrites cosign's older bundle as a protobuf bundle v0.1,
// which holds the same evidence (a certificate, a message signature and a
// log entry with its inclusion promise), so that sigstore-go checks it all
// the same way. It reports false for anything else, which is then read as
// a protobuf bundle, or refused as one.
func parseLegacy(data []byte) ([]byte, bool) {
	var l legacyBundle
	if json.Unmarshal(data, &l) != nil || l.Base64Signature == "" || l.Cert == "" || l.RekorBundle == nil {
		return nil, false
	}
	certPEM, err := base64.StdEncoding.DecodeString(l.Cert)
	if err != nil {
		return nil, false
	}
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, false
	}
	p := l.RekorBundle.Payload
	bodyJSON, err := base64.StdEncoding.DecodeString(p.Body)
	if err != nil {
		return nil, false
	}
	var body rekorBody
	if json.Unmarshal(bodyJSON, &body) != nil || body.Kind == "" {
		return nil, false
	}
	logID, err := hex.DecodeString(p.LogID)
	if err != nil {
		return nil, false
	}
	digest, err := hex.DecodeString(body.Spec.Data.Hash.Value)
	if err != nil {
		return nil, false
	}
	alg := map[string]string{"sha256": "SHA2_256", "sha384": "SHA2_384", "sha512": "SHA2_512"}[body.Spec.Data.Hash.Algorithm]
	if alg == "" {
		return nil, false
	}
	b64 := base64.StdEncoding.EncodeToString
	pb := map[string]any{
		"mediaType": "application/vnd.dev.sigstore.bundle+json;version=0.1",
		"verificationMaterial": map[string]any{
			"x509CertificateChain": map[string]any{"certificates": []any{map[string]any{"rawBytes": b64(block.Bytes)}}},
			"tlogEntries": []any{map[string]any{
				"logIndex":          strconv.FormatInt(p.LogIndex, 10),
				"logId":             map[string]any{"keyId": b64(logID)},
				"kindVersion":       map[string]any{"kind": body.Kind, "version": body.APIVersion},
				"integratedTime":    strconv.FormatInt(p.IntegratedTime, 10),
				"inclusionPromise":  map[string]any{"signedEntryTimestamp": l.RekorBundle.SignedEntryTimestamp},
				"canonicalizedBody": p.Body,
			}},
		},
		"messageSignature": map[string]any{
			"messageDigest": map[string]any{"algorithm": alg, "digest": b64(digest)},
			"signature":     l.Base64Signature,
		},
	}
	out, err := json.Marshal(pb)
	return out, err == nil
}
