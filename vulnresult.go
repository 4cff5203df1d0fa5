package tlswarden

// VulnResult is what the weakness probe found on one endpoint: the server's
// answers to crafted handshakes that show known weaknesses (Heartbleed, CCS
// injection, TLS_FALLBACK_SCSV) and the TLS features its first flight
// shows. Facts only: which answers are weaknesses is the policy's call.
// See docs/report-schema.md; docs/scanning.md gives each check's cost.
type VulnResult struct {
	// Features is the server's answer to one TLS 1.2-or-older ClientHello
	// offering every feature tested.
	Features *TLSFeatures `json:"features,omitempty"`
	// Heartbleed, CCSInjection and FallbackSCSV are nil when the check was
	// not run (see Skipped) or could not start.
	Heartbleed   *HeartbleedResult `json:"heartbleed,omitempty"`
	CCSInjection *CCSResult        `json:"ccs_injection,omitempty"`
	FallbackSCSV *FallbackResult   `json:"fallback_scsv,omitempty"`
	ROBOT        *ROBOTResult      `json:"robot,omitempty"`
	Resumption   *ResumptionResult `json:"resumption,omitempty"`
	// TLS13Resumption is TLS 1.3 resumption with a PSK and 0-RTT.
	TLS13Resumption *TLS13ResumptionResult `json:"tls13_resumption,omitempty"`
	// Ticketbleed is the Ticketbleed check; nil when the feature hello
	// failed.
	Ticketbleed *TicketbleedResult `json:"ticketbleed,omitempty"`
	// PaddingOracle is the CBC padding oracle check.
	PaddingOracle *PaddingOracleResult `json:"padding_oracle,omitempty"`
	// ClientRenegotiation is the client-initiated renegotiation check.
	ClientRenegotiation *RenegotiationResult `json:"client_initiated_renegotiation,omitempty"`
	// SignatureSchemes are the schemes the server signs its TLS 1.2 key
	// exchange with.
	SignatureSchemes *SignatureSchemesResult `json:"signature_schemes,omitempty"`
	// SignatureSchemesTLS13 are the schemes the server signs its TLS 1.3
	// CertificateVerify with (read by decrypting its flight).
	SignatureSchemesTLS13 *SignatureSchemesResult `json:"signature_schemes_tls13,omitempty"`
	// Skipped names the checks turned off by configuration.
	Skipped []string `json:"skipped,omitempty"`
	// Connections is the number of TCP connections the probe opened.
	Connections int `json:"connections"`
}

// TLSFeatures is what a server's first flight says about the features it
// supports, in answer to a ClientHello offering TLS 1.2 and older with the
// extensions for each feature, and the deflate compression method.
type TLSFeatures struct {
	Status Status `json:"status"`
	Error  string `json:"error,omitempty"`
	// Version and CipherSuite are what the server chose.
	Version     Version `json:"version,omitempty"`
	CipherSuite uint16  `json:"cipher_suite,omitempty"`
	// Extensions names the ServerHello extensions in the order sent (the
	// IANA name, or the number for one unknown).
	Extensions []string `json:"server_hello_extensions"`
	// SecureRenegotiation: renegotiation_info answered (RFC 5746).
	SecureRenegotiation bool `json:"secure_renegotiation"`
	// Compression is the compression method chosen: "null" or "deflate"
	// (CRIME), or the number.
	Compression          string `json:"compression"`
	ExtendedMasterSecret bool   `json:"extended_master_secret"`
	EncryptThenMAC       bool   `json:"encrypt_then_mac"`
	// SessionTicket: the server will issue a session ticket (RFC 5077).
	SessionTicket bool `json:"session_ticket"`
	// SessionID: the server gave a session ID, so it may resume by ID.
	SessionID bool `json:"session_id"`
	// OCSPStapling: status_request answered, so a staple follows.
	OCSPStapling bool `json:"ocsp_stapling"`
	// ALPN is the protocol chosen from h2 and http/1.1, empty for none.
	ALPN string `json:"alpn,omitempty"`
	// Heartbeat: the heartbeat extension answered (RFC 6520).
	Heartbeat bool `json:"heartbeat"`
	// ClientCertificate is set when the server asked for a client
	// certificate. Whether it requires one is not tested: that takes a
	// completed handshake.
	ClientCertificate *ClientCertRequest `json:"client_certificate,omitempty"`
}

// ClientCertRequest is a CertificateRequest as sent.
type ClientCertRequest struct {
	// CertificateTypes are the types accepted, by name (rsa_sign, ...).
	CertificateTypes []string `json:"certificate_types,omitempty"`
	// SignatureSchemes are the TLS 1.2 signature schemes accepted (code
	// points).
	SignatureSchemes []uint16 `json:"signature_schemes,omitempty"`
	// CANames are the acceptable issuers' distinguished names, as
	// RFC 2253 strings (at most 100 kept; CANamesCount counts all).
	CANames      []string `json:"ca_names,omitempty"`
	CANamesCount int      `json:"ca_names_count"`
}

// HeartbleedResult is the Heartbleed check (CVE-2014-0160): a heartbeat
// request whose payload_length claims 16,384 bytes more than it carries,
// sent after the server's first flight. A patched server discards it
// silently (RFC 6520, section 4); a vulnerable one answers with its
// memory. Only the answer's record header is read, never its bytes.
type HeartbleedResult struct {
	Status Status `json:"status"`
	Error  string `json:"error,omitempty"`
	// Tested is false when the server did not answer the heartbeat
	// extension, so no request was sent.
	Tested bool `json:"tested"`
	// OverlongAnswered: the server answered the over-long request.
	OverlongAnswered bool `json:"overlong_answered"`
	// Answer says what came back: "heartbeat response of N bytes", an
	// alert, "closed" or "no answer".
	Answer string `json:"answer,omitempty"`
}

// CCSResult is the CCS injection check (CVE-2014-0224): a ChangeCipherSpec
// sent before any key exchange, then a second one. A patched server
// refuses it (unexpected_message); a vulnerable one switches keys and then
// fails to decrypt (bad_record_mac, decryption_failed).
type CCSResult struct {
	Status Status `json:"status"`
	Error  string `json:"error,omitempty"`
	// EarlyCCSAccepted: the server took the early ChangeCipherSpec.
	EarlyCCSAccepted bool   `json:"early_ccs_accepted"`
	Answer           string `json:"answer,omitempty"`
}

// FallbackResult is the TLS_FALLBACK_SCSV check (RFC 7507): a ClientHello
// one version below the highest the server negotiated, naming the SCSV.
type FallbackResult struct {
	Status Status `json:"status"`
	Error  string `json:"error,omitempty"`
	// Offered is the version offered with the SCSV; zero when the server
	// negotiated no version above TLS 1.0, so there is nothing to fall
	// back from.
	Offered Version `json:"offered,omitempty"`
	// Rejected: the server refused with inappropriate_fallback.
	Rejected bool   `json:"rejected"`
	Answer   string `json:"answer,omitempty"`
}

// ROBOTResult is the ROBOT check (Return Of Bleichenbacher's Oracle
// Threat, CVE-2017-13099 and others): five RSA key exchanges, one with a
// well-formed PKCS #1 v1.5 premaster secret and four with flaws, each
// followed by a ChangeCipherSpec and a Finished the server cannot decrypt.
type ROBOTResult struct {
	Status Status `json:"status"`
	Error  string `json:"error,omitempty"`
	// Tested is false when the server accepts no RSA key exchange.
	Tested bool `json:"tested"`
	// Answers are the server's answers, in order: well-formed, wrong first
	// bytes, 0x00 too early, no 0x00 separator, wrong version.
	Answers []string `json:"answers,omitempty"`
	// Consistent: the answers differed and a second round gave the same.
	Consistent bool `json:"consistent,omitempty"`
	// Oracle: the answers differ, consistently: the server tells a flawed
	// premaster secret from a well-formed one.
	Oracle bool `json:"oracle"`
}

// PaddingOracleResult is the CBC padding oracle check (POODLE-TLS, Zombie
// POODLE, GOLDENDOODLE, CVE-2016-2107 and kin, after Craig Young's 2019
// research): after a full handshake with an AES-CBC suite by Go's client,
// one application data record malformed in one way (a valid MAC with
// invalid padding, an invalid MAC with valid padding, both invalid,
// nothing but padding), each on a connection of its own. A server that
// answers them alike tells an attacker nothing about the plaintext; one
// whose answer depends on the flaw is a padding oracle.
type PaddingOracleResult struct {
	Status Status `json:"status"`
	Error  string `json:"error,omitempty"`
	// Tested is false when no handshake with the AES-CBC suites Go's
	// client has could be made; Reason then says why.
	Tested bool   `json:"tested"`
	Reason string `json:"reason,omitempty"`
	// Version and CipherSuite are those of the handshakes.
	Version     Version `json:"version,omitempty"`
	CipherSuite uint16  `json:"cipher_suite,omitempty"`
	// Answers are the server's answers to the malformed records, in the
	// order sent.
	Answers []PaddingAnswer `json:"answers,omitempty"`
	// Consistent: the answers differed and a second round gave the same.
	Consistent bool `json:"consistent,omitempty"`
	// Oracle: the answers differ, consistently: the server tells one
	// malformed record from another.
	Oracle bool `json:"oracle"`
}

// PaddingAnswer is the server's answer to one malformed CBC record.
type PaddingAnswer struct {
	// Record says how the record was malformed.
	Record string `json:"record"`
	// Answer is what the server did until it closed the connection or
	// the answer wait ended: its records, decrypted, at most three
	// ("alert bad_record_mac (fatal)"), then "closed", "kept open" or
	// "more", joined by ", then "; or "closed" or "no answer" alone.
	Answer string `json:"answer"`
}

// RenegotiationResult is the client-initiated renegotiation check: after
// a full TLS 1.2 handshake, one encrypted ClientHello whose
// renegotiation_info carries the client's verify_data (RFC 5746). A server
// that allows it answers with a ServerHello; one that refuses sends a
// no_renegotiation alert or closes. Renegotiation started by the client
// lets anyone make the server do a full handshake's work over one
// connection (a denial-of-service lever); without secure renegotiation it
// is CVE-2009-3555 (SSL Labs: insecure client-initiated renegotiation).
type RenegotiationResult struct {
	Status Status `json:"status"`
	Error  string `json:"error,omitempty"`
	// Tested is false when the server has no TLS 1.2: the check needs a
	// TLS 1.2 session with an AEAD suite.
	Tested bool `json:"tested"`
	// CipherSuite is the suite of the full handshake.
	CipherSuite uint16 `json:"cipher_suite,omitempty"`
	// Secure: the full handshake's ServerHello answered renegotiation_info.
	Secure bool `json:"secure"`
	// Accepted: the server answered the renegotiation hello with a
	// ServerHello.
	Accepted bool `json:"accepted"`
	// Answer says what came back: "ServerHello", an alert with its level,
	// "closed" or "no answer".
	Answer string `json:"answer,omitempty"`
}

// TLS13ResumptionResult is what a full TLS 1.3 handshake with Go's client
// and a resumption hello of the probe's own show: whether the server
// issues a ticket, resumes with it (PSK with (EC)DHE, RFC 8446 section
// 2.2), and would take 0-RTT data (early_data in its EncryptedExtensions,
// section 4.2.10). No early data is sent.
type TLS13ResumptionResult struct {
	Status Status `json:"status"`
	Error  string `json:"error,omitempty"`
	// Tested is false when the server negotiated no TLS 1.3 (see
	// signature_schemes_tls13) or issued no ticket within the answer wait.
	Tested       bool `json:"tested"`
	TicketIssued bool `json:"ticket_issued"`
	// MaxEarlyData is the ticket's max_early_data_size: the 0-RTT bytes
	// the server says it takes (0: none; early_data is then not offered).
	MaxEarlyData uint32 `json:"max_early_data,omitempty"`
	// Resumed: the ServerHello selected the ticket's PSK.
	Resumed bool `json:"resumed"`
	// EarlyDataAccepted: the server would take 0-RTT data, which an
	// attacker can replay.
	EarlyDataAccepted bool `json:"early_data_accepted"`
}

// TicketbleedResult is the Ticketbleed check (CVE-2016-9244): the ticket
// of a full handshake offered with a 16-byte session ID. A server that
// resumes must echo that ID (RFC 5077, section 3.4); F5's stack echoed 32
// bytes, the rest of them its memory. Only the echoed length is kept.
type TicketbleedResult struct {
	Status Status `json:"status"`
	Error  string `json:"error,omitempty"`
	// Tested is false when no ticket was issued (see Resumption).
	Tested bool `json:"tested"`
	// Resumed: the server accepted the ticket (no Certificate followed its
	// ServerHello).
	Resumed bool `json:"resumed"`
	// SessionIDSent and SessionIDEchoed are the session ID lengths in the
	// hello and in the ServerHello.
	SessionIDSent   int `json:"session_id_sent,omitempty"`
	SessionIDEchoed int `json:"session_id_echoed"`
	// Leaked: the ServerHello resumed and echoed the ID sent followed by
	// more bytes: the server's memory.
	Leaked bool `json:"leaked"`
}

// ResumptionResult is what full TLS 1.2-or-older handshakes with Go's
// client show: whether the server issues a session ticket, with its
// lifetime hint, and resumes with it; whether it resumes by session ID;
// and whether a requested client certificate may be left out.
type ResumptionResult struct {
	Status Status `json:"status"`
	Error  string `json:"error,omitempty"`
	// Version is the version of the full handshake.
	Version Version `json:"version,omitempty"`
	// TicketIssued: a NewSessionTicket was sent (RFC 5077);
	// TicketLifetimeHint is its lifetime hint in seconds (0: unspecified).
	TicketIssued       bool   `json:"ticket_issued"`
	TicketLifetimeHint uint32 `json:"ticket_lifetime_hint,omitempty"`
	// ResumedWithTicket: a second handshake offering the ticket resumed.
	ResumedWithTicket bool `json:"resumed_with_ticket"`
	// SessionIDIssued: a full handshake offering no ticket got a session
	// ID in the ServerHello.
	SessionIDIssued bool `json:"session_id_issued"`
	// ResumedWithSessionID: a ClientHello offering that session ID was
	// answered with an abbreviated handshake (the ID echoed, no
	// Certificate).
	ResumedWithSessionID bool `json:"resumed_with_session_id"`
	// SessionIDError says why the session ID test did not finish.
	SessionIDError string `json:"session_id_error,omitempty"`
	// ClientCertificateOptional: the server asked for a client certificate
	// and completed the handshake without one. When it asked and the
	// handshake failed, Status says how.
	ClientCertificateOptional bool `json:"client_certificate_optional,omitempty"`
}

// SignatureSchemesResult lists the signature schemes a server signs with,
// for one version: its ServerKeyExchange over TLS 1.2, its
// CertificateVerify over TLS 1.3.
type SignatureSchemesResult struct {
	Status  Status  `json:"status"`
	Error   string  `json:"error,omitempty"`
	Version Version `json:"version"`
	// Tested is false when nothing could be seen: over TLS 1.2 the server
	// chose no suite with a signed key exchange (no ECDHE or DHE); over
	// TLS 1.3 it did not negotiate TLS 1.3 or signed with nothing offered.
	Tested bool `json:"tested"`
	// Schemes are the IANA names, in the order found (the server's
	// preference among those left).
	Schemes []string `json:"schemes"`
	// Complete is false when the enumeration stopped at its connection
	// bound with schemes left untested.
	Complete bool `json:"complete"`
}
