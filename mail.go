package tlswarden

// KindMail is a mail domain: the target names a domain, not a host; its
// MX hosts (or, without MX, the domain's own addresses) are scanned as
// SMTP STARTTLS endpoints on the target's port, 25 by default.
const KindMail Kind = "mail"

// MaxMXHosts bounds the MX hosts of one mail domain that are resolved and
// scanned, the most preferred first: a hostile zone may list thousands.
const MaxMXHosts = 10

// MailResult holds what DNS says about a mail domain's mail servers,
// beside the endpoint reports of the servers themselves.
type MailResult struct {
	Domain string `json:"domain"`
	// MXOutcome is how the MX query ended.
	MXOutcome Outcome `json:"mx_outcome"`
	MXError   string  `json:"mx_error,omitempty"`
	// MX lists the domain's mail exchangers by preference, lowest first
	// (ties by name), at most MaxMXHosts of them.
	MX []MXHost `json:"mx"`
	// MXOmitted counts the MX records beyond MaxMXHosts left out.
	MXOmitted int `json:"mx_omitted,omitempty"`
	// NullMX says the domain publishes a null MX (RFC 7505, "0 ."): it
	// accepts no mail, so there is nothing to scan.
	NullMX bool `json:"null_mx"`
	// ImplicitMX says the domain has no MX records, so that its own A and
	// AAAA records are its mail server, as senders do (RFC 5321 §5.1).
	ImplicitMX bool `json:"implicit_mx"`
	// MTASTS and TLSRPT are the domain's MTA-STS and TLS reporting
	// publications; absent when not looked up.
	MTASTS *MTASTSResult `json:"mta_sts,omitempty"`
	TLSRPT *TLSRPTResult `json:"tls_rpt,omitempty"`
}

// MXHost is one mail exchanger and the addresses it resolved to.
type MXHost struct {
	Preference uint16      `json:"preference"`
	Host       string      `json:"host"`
	Resolution *Resolution `json:"resolution,omitempty"`
	// Error says why the host gave no endpoint (resolution failed).
	Error string `json:"error,omitempty"`
	// TLSA is the host's DANE publication; absent when not looked up.
	TLSA *TLSAResult `json:"tlsa,omitempty"`
}

// AcceptsNoMail reports whether the report is of a mail domain that
// publishes a null MX: a clear answer, with no endpoint to scan.
func (r *Report) AcceptsNoMail() bool {
	return r.Mail != nil && r.Mail.NullMX && r.Status == StatusOK
}

// MTASTSResult is what a mail domain publishes for MTA-STS (RFC 8461):
// the _mta-sts TXT record and the policy it announces.
type MTASTSResult struct {
	// RecordOutcome is how the TXT query for _mta-sts.DOMAIN ended; ok
	// with no Record means TXT records that are not MTA-STS ones.
	RecordOutcome Outcome `json:"record_outcome"`
	Record        string  `json:"record,omitempty"`
	ID            string  `json:"id,omitempty"`
	// RecordError says why the record is unusable (malformed, several).
	RecordError string `json:"record_error,omitempty"`
	// PolicyURL is where the policy was fetched from, when it was.
	PolicyURL string        `json:"policy_url,omitempty"`
	Policy    *MTASTSPolicy `json:"policy,omitempty"`
	// PolicyError says why no valid policy was read: the fetch failed
	// (certificate, status, redirect, size, time) or the text is invalid.
	PolicyError string `json:"policy_error,omitempty"`
	// MXUnmatched lists the domain's MX hosts that no mx pattern of the
	// policy matches: senders enforcing it will not deliver to them.
	MXUnmatched []string `json:"mx_unmatched,omitempty"`
}

// MTASTSPolicy is a parsed MTA-STS policy.
type MTASTSPolicy struct {
	Version string   `json:"version"`
	Mode    string   `json:"mode"` // enforce, testing or none
	MaxAge  int64    `json:"max_age"`
	MX      []string `json:"mx"`
}

// Enforced reports whether the domain has a valid MTA-STS policy that
// asks senders to require TLS with a valid certificate (mode enforce);
// Asks also counts testing, in which senders report failures.
func (m *MTASTSResult) Enforced() bool {
	return m != nil && m.Policy != nil && m.Policy.Mode == "enforce"
}

// Asks reports whether a valid policy in enforce or testing mode names
// certificate checks for the MX hosts.
func (m *MTASTSResult) Asks() bool {
	return m != nil && m.Policy != nil && (m.Policy.Mode == "enforce" || m.Policy.Mode == "testing")
}

// TLSRPTResult is the domain's SMTP TLS reporting record (RFC 8460).
type TLSRPTResult struct {
	RecordOutcome Outcome  `json:"record_outcome"`
	Record        string   `json:"record,omitempty"`
	RUA           []string `json:"rua,omitempty"`
	RecordError   string   `json:"record_error,omitempty"`
}

// TLSAResult is what DNS says about an MX host's TLSA records at
// _25._tcp.HOST (DANE for SMTP, RFC 7672).
type TLSAResult struct {
	Outcome Outcome      `json:"outcome"`
	Error   string       `json:"error,omitempty"`
	Records []TLSARecord `json:"records,omitempty"`
	// AD is the AD bit of the answer: the resolver says it validated it
	// with DNSSEC. Authenticated is AD from a resolver the user declared
	// validating (--dnssec-validating-resolver); AD from any other
	// resolver, or over a path an attacker may touch, proves nothing.
	AD            bool `json:"ad"`
	Authenticated bool `json:"authenticated"`
}

// TLSARecord is one TLSA record: usage (2 DANE-TA, 3 DANE-EE; 0 and 1
// are unusable for SMTP, RFC 7672 §3.1.3), selector (0 the certificate,
// 1 its public key), matching type (0 exact, 1 SHA-256, 2 SHA-512) and
// the data in hex.
type TLSARecord struct {
	Usage        uint8  `json:"usage"`
	Selector     uint8  `json:"selector"`
	MatchingType uint8  `json:"matching_type"`
	Data         string `json:"data"`
}
