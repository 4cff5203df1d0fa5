package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/tlswarden/tlswarden"
)

// DROWN (CVE-2016-0800) breaks TLS with an RSA key that any server,
// anywhere, also uses with SSLv2. One report shows only its own
// endpoints; the store knows every endpoint the service has scanned, so
// a scan is judged against the SSLv2 endpoints of the whole estate.

// SSLv2Key is an RSA key served by an endpoint that accepts SSLv2, as its
// target's latest scan found it.
type SSLv2Key struct {
	TargetID int64              `json:"target_id"`
	ScanID   int64              `json:"scan_id"`
	Endpoint tlswarden.Endpoint `json:"endpoint"`
	// KeySHA256 is the SHA-256 of the key's SubjectPublicKeyInfo (empty in
	// reports from before it was recorded); CertSHA256 is the leaf
	// certificate's.
	KeySHA256  string `json:"key_sha256,omitempty"`
	CertSHA256 string `json:"cert_sha256"`
}

// SSLv2KeyStore is implemented by stores that can list the RSA keys of
// the SSLv2 endpoints in the targets' latest scans.
type SSLv2KeyStore interface {
	// ListSSLv2Keys returns the RSA leaf of every chain served by an
	// endpoint that accepted SSLv2 in its target's latest scan, by target
	// and then in report order.
	ListSSLv2Keys(ctx context.Context) ([]SSLv2Key, error)
}

// SSLv2Leaves returns the RSA keys and certificates of the SSLv2
// endpoints of st's latest scans, except those of target except, as
// policy.Options.SSLv2Leaves takes them: each key's and certificate's
// SHA-256 mapped to the endpoint. The target's own endpoints are left out
// because the report being judged says what they accept now. Nil when st
// cannot list them.
func SSLv2Leaves(ctx context.Context, st Store, except int64) (map[string]string, error) {
	ks, ok := st.(SSLv2KeyStore)
	if !ok {
		return nil, nil
	}
	keys, err := ks.ListSSLv2Keys(ctx)
	if err != nil {
		return nil, err
	}
	return SSLv2LeavesOf(keys, except), nil
}

// SSLv2LeavesOf is SSLv2Leaves over keys already listed.
func SSLv2LeavesOf(keys []SSLv2Key, except int64) map[string]string {
	m := map[string]string{}
	for _, k := range keys {
		if k.TargetID == except {
			continue
		}
		where := fmt.Sprintf("%s (target %d)", k.Endpoint, k.TargetID)
		if k.KeySHA256 != "" {
			m[k.KeySHA256] = where
		}
		m[k.CertSHA256] = where
	}
	return m
}

// SSLv2KeysOf returns the RSA keys of the chains in a certificate result
// as JSON (an endpoint report's "certificate"), for the endpoint of a
// target's scan that accepted SSLv2. Both stores read the document and
// call it, so that which chains count is decided in one place.
func SSLv2KeysOf(targetID, scanID int64, ep tlswarden.Endpoint, certJSON []byte) ([]SSLv2Key, error) {
	if len(certJSON) == 0 {
		return nil, nil
	}
	var cert tlswarden.CertResult
	if err := json.Unmarshal(certJSON, &cert); err != nil {
		return nil, fmt.Errorf("decode the certificate of %s in scan %d: %w", ep, scanID, err)
	}
	var out []SSLv2Key
	for _, c := range cert.Chains() {
		if leaf := c.Leaf(); leaf != nil && leaf.KeyType == "RSA" && leaf.SHA256 != "" {
			out = append(out, SSLv2Key{TargetID: targetID, ScanID: scanID, Endpoint: ep, KeySHA256: leaf.SPKISHA256, CertSHA256: leaf.SHA256})
		}
	}
	return out, nil
}
