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
}

// MXHost is one mail exchanger and the addresses it resolved to.
type MXHost struct {
	Preference uint16      `json:"preference"`
	Host       string      `json:"host"`
	Resolution *Resolution `json:"resolution,omitempty"`
	// Error says why the host gave no endpoint (resolution failed).
	Error string `json:"error,omitempty"`
}

// AcceptsNoMail reports whether the report is of a mail domain that
// publishes a null MX: a clear answer, with no endpoint to scan.
func (r *Report) AcceptsNoMail() bool {
	return r.Mail != nil && r.Mail.NullMX && r.Status == StatusOK
}
