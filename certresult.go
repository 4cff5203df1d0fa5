package tlswarden

import "time"

// CertResult is what the certificate probe found on one endpoint: the chain
// exactly as the server sent it in a full handshake with SNI set to the
// endpoint's hostname, what can be derived from it (trust, hostname, order,
// completeness), the stapled OCSP response and SCTs, and the leaf the
// server sends when the client gives no SNI. Facts only: whether any of it
// is acceptable is the policy's call. See docs/report-schema.md.
type CertResult struct {
	// ServerName is the SNI sent; empty for IP targets.
	ServerName string `json:"server_name,omitempty"`
	// Version and CipherSuite are what the handshake negotiated; absent when
	// the handshake failed after the certificates arrived.
	Version     Version `json:"version,omitempty"`
	CipherSuite *Suite  `json:"cipher_suite,omitempty"`

	// Offered is the key type the client asked for when this chain came:
	// "any" for the full handshake, or ECDSA, RSA, EdDSA, DSA.
	Offered string `json:"offered,omitempty"`
	// Source says how the chain was read: "handshake" (what a full
	// handshake through the handshake library reads; for a server without
	// TLS 1.3, the TLS probe's flight for the suite that handshake would
	// get, which carries the same bytes) or "server_flight" (the Certificate
	// message read from the server's flight, without finishing the
	// handshake). HandshakeError says why the full handshake gave no
	// chain when this one came from the flight instead.
	Source         string `json:"source,omitempty"`
	HandshakeError string `json:"handshake_error,omitempty"`
	// MessageBytes is the size of the Certificate handshake message,
	// when it was read from the server's flight.
	MessageBytes int `json:"certificate_message_bytes,omitempty"`
	// ChainError says what was wrong with one of OtherChains (too many
	// certificates, bytes that are not one); the probe's error says it
	// of the primary chain.
	ChainError string `json:"chain_error,omitempty"`

	// Chain lists the certificates in the order served, at most the first
	// MaxChainCerts of them (ChainTruncated says when some were dropped).
	Chain []Certificate `json:"chain"`
	// ChainLength and ChainBytes count every certificate served (DER bytes).
	ChainLength    int  `json:"chain_length"`
	ChainBytes     int  `json:"chain_bytes"`
	ChainTruncated bool `json:"chain_truncated,omitempty"`
	// ChainOrderCorrect is true when each certificate is directly certified
	// by the one after it (RFC 5246 7.4.2); trivially true for one.
	ChainOrderCorrect bool `json:"chain_order_correct"`
	// ChainComplete is true when a path from the leaf to a trusted root can
	// be built from the served certificates alone, whatever their dates or
	// key usages.
	ChainComplete bool `json:"chain_complete"`
	// Trusted is true when the leaf verifies for TLS server authentication
	// against the trust store at scan time using the served certificates
	// (no AIA fetching). VerificationError says why not.
	Trusted           bool   `json:"trusted"`
	VerificationError string `json:"verification_error,omitempty"`
	// Anchor says which trust store the chain is anchored in: "public"
	// (the system's roots, or the public roots configured in their place)
	// or "organisation" (only the roots --ca-file adds: an organisation's
	// own CA). It names the store of the paths that verify when Trusted,
	// else of those that could be built ignoring dates and key usage (an
	// expired private chain is still private); empty when no path ends at
	// any root. Public wins when paths end in both.
	Anchor string `json:"anchor,omitempty"`

	// HostnameChecked is the name (or, for IP targets, the address) the
	// leaf was matched against; HostnameMatchedBy the SAN that matched.
	HostnameChecked   string `json:"hostname_checked"`
	HostnameMatches   bool   `json:"hostname_matches"`
	HostnameMatchedBy string `json:"hostname_matched_by,omitempty"`

	// Revocation is the answer of the leaf's OCSP responder, asked online
	// when revocation checks are on (--check-revocation); nil otherwise.
	Revocation *RevocationCheck `json:"revocation,omitempty"`

	// OCSPStapled is true when the server stapled an OCSP response.
	OCSPStapled bool        `json:"ocsp_stapled"`
	OCSP        *OCSPStaple `json:"ocsp,omitempty"`
	// SCTs counts the signed certificate timestamps for the leaf by how
	// they were delivered.
	SCTs SCTCounts `json:"scts"`

	// LeafSHA256WithoutSNI is the leaf served to a handshake without SNI
	// (only probed when ServerName is set); WithoutSNIError says why that
	// handshake failed, if it did.
	LeafSHA256WithoutSNI string `json:"leaf_sha256_without_sni,omitempty"`
	DiffersWithoutSNI    bool   `json:"differs_without_sni"`
	WithoutSNIError      string `json:"without_sni_error,omitempty"`

	// OtherChains are the chains the endpoint serves to clients that ask
	// for other key types, each with its own facts, one per leaf other
	// than this result's, sorted by ChainID. Their own OtherChains and
	// SNI comparison are empty. This result is the primary chain: the
	// full handshake's, or when that failed, the first read from a
	// flight.
	OtherChains []CertResult `json:"other_chains,omitempty"`
	// OtherChainsError says why asking for another key type got no
	// answer (a timeout, a reset, garbage): OtherChains may then be
	// incomplete. A refusal is an answer (no chain of that type).
	OtherChainsError string `json:"other_chains_error,omitempty"`
}

// ChainID identifies a chain by its leaf: key type and SHA-256, e.g.
// "ECDSA:3f2a...". Identities stay the same from scan to scan whatever
// order a server's chains were found in.
func (r *CertResult) ChainID() string {
	leaf := r.Leaf()
	if leaf == nil {
		return ""
	}
	return leaf.KeyType + ":" + leaf.SHA256
}

// Chains returns the primary chain and then every other one: every chain
// the endpoint serves. It returns nil for a nil result.
func (r *CertResult) Chains() []*CertResult {
	if r == nil {
		return nil
	}
	out := []*CertResult{r}
	for i := range r.OtherChains {
		out = append(out, &r.OtherChains[i])
	}
	return out
}

// Leaf returns the first certificate served, or nil when there is none.
func (r *CertResult) Leaf() *Certificate {
	if r == nil || len(r.Chain) == 0 {
		return nil
	}
	return &r.Chain[0]
}

// Certificate is one certificate of a served chain, as parsed. When the
// bytes are not a certificate only SHA256, Size and ParseError are set.
type Certificate struct {
	SHA256 string `json:"sha256"`
	// SPKISHA256 is the SHA-256 of the subject public key info, as a
	// TLSA record with selector 1 and matching type 1 names it (DANE).
	SPKISHA256 string `json:"spki_sha256,omitempty"`
	// SHA512 and SPKISHA512 are the SHA-512 of the certificate and of its
	// subject public key info, as TLSA records of matching type 2 name
	// them; absent from reports made before they were recorded.
	SHA512     string `json:"sha512,omitempty"`
	SPKISHA512 string `json:"spki_sha512,omitempty"`
	Size       int    `json:"size"`
	ParseError string `json:"parse_error,omitempty"`

	Subject string `json:"subject,omitempty"`
	Issuer  string `json:"issuer,omitempty"`
	// Serial is the serial number in lower-case hexadecimal.
	Serial      string   `json:"serial,omitempty"`
	DNSNames    []string `json:"dns_names,omitempty"`
	IPAddresses []string `json:"ip_addresses,omitempty"`

	NotBefore time.Time `json:"not_before,omitzero"`
	NotAfter  time.Time `json:"not_after,omitzero"`
	// SecondsUntilExpiry is NotAfter minus the scan time; negative once
	// expired.
	SecondsUntilExpiry int64 `json:"seconds_until_expiry"`
	// ValiditySeconds is NotAfter minus NotBefore (RFC 5280 counts both
	// ends, so the period is one second longer); ValidityDays is that in
	// whole days, rounded down.
	ValiditySeconds int64 `json:"validity_seconds"`
	ValidityDays    int   `json:"validity_days"`
	NotYetValid     bool  `json:"not_yet_valid"`
	Expired         bool  `json:"expired"`

	// KeyType is RSA, ECDSA, Ed25519, DSA, or the algorithm's OID.
	KeyType string `json:"key_type,omitempty"`
	// KeyBits is the RSA modulus size, the curve size, or 256 for Ed25519.
	KeyBits int    `json:"key_bits,omitempty"`
	Curve   string `json:"curve,omitempty"`
	// SignatureAlgorithm is the issuer's signature, e.g. "SHA256-RSA",
	// "ECDSA-SHA384", "SHA1-RSA", or the OID when unknown.
	SignatureAlgorithm string `json:"signature_algorithm,omitempty"`
	IsCA               bool   `json:"is_ca"`
	// SelfSigned is true when subject equals issuer and the certificate's
	// own key verifies its signature.
	SelfSigned bool `json:"self_signed"`

	OCSPURLs   []string `json:"ocsp_urls,omitempty"`
	IssuerURLs []string `json:"issuer_urls,omitempty"`
	CRLURLs    []string `json:"crl_urls,omitempty"`
	// MustStaple is true when the TLS Feature extension (RFC 7633) lists
	// status_request.
	MustStaple   bool `json:"must_staple"`
	EmbeddedSCTs int  `json:"embedded_scts"`

	// Lints names the zlint lints that gave an error or a warning.
	Lints *Lints `json:"lints,omitempty"`
}

// Lints groups zlint lint names by outcome; passes, notices and lints that
// do not apply are left out. Fatal names lints that could not run.
type Lints struct {
	Errors   []string `json:"error,omitempty"`
	Warnings []string `json:"warn,omitempty"`
	Fatal    []string `json:"fatal,omitempty"`
	// Sources gives the source of each lint named above, as zlint names
	// it ("CABF_BR", "RFC5280", "Mozilla", "Community", ...): the policy
	// weighs a lint by its source.
	Sources map[string]string `json:"sources,omitempty"`
}

// The trust stores a chain can be anchored in (CertResult.Anchor).
const (
	AnchorPublic       = "public"
	AnchorOrganisation = "organisation"
)

// OCSP certificate statuses, as in RFC 6960.
const (
	OCSPGood    = "good"
	OCSPRevoked = "revoked"
	OCSPUnknown = "unknown"
)

// OCSPStaple is a stapled OCSP response as parsed. Status is empty and
// Error set when it could not be parsed.
type OCSPStaple struct {
	Size       int       `json:"size"`
	Status     string    `json:"status,omitempty"`
	ProducedAt time.Time `json:"produced_at,omitzero"`
	ThisUpdate time.Time `json:"this_update,omitzero"`
	NextUpdate time.Time `json:"next_update,omitzero"`
	RevokedAt  time.Time `json:"revoked_at,omitzero"`
	// SignatureVerified is true when the response's signature checked out
	// against the leaf's issuer and it names the leaf's serial number.
	SignatureVerified bool   `json:"signature_verified"`
	Error             string `json:"error,omitempty"`
}

// RevocationCheck is the answer of a leaf's OCSP responder to an online
// query (RFC 6960): the URL asked (from the leaf's AIA extension), the
// status, and why there is none when the query failed.
type RevocationCheck struct {
	URL        string    `json:"url,omitempty"`
	Status     string    `json:"status,omitempty"`
	ThisUpdate time.Time `json:"this_update,omitzero"`
	NextUpdate time.Time `json:"next_update,omitzero"`
	RevokedAt  time.Time `json:"revoked_at,omitzero"`
	// SignatureVerified is true when the response's signature checked out
	// against the leaf's issuer and it names the leaf's serial number.
	SignatureVerified bool `json:"signature_verified"`
	// Cached is true when the answer came from the cache of an earlier
	// query for the same certificate, still within its nextUpdate.
	Cached bool   `json:"cached,omitempty"`
	Error  string `json:"error,omitempty"`
}

// SCTCounts counts signed certificate timestamps (RFC 6962) by delivery:
// in the TLS extension, in the stapled OCSP response, embedded in the leaf.
type SCTCounts struct {
	TLSExtension int `json:"tls_extension"`
	OCSP         int `json:"ocsp"`
	Embedded     int `json:"embedded"`
}
