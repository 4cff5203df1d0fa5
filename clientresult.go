package tlswarden

import "slices"

// ClientsResult is the client simulation of one endpoint: for each client
// of the list (real browsers, operating systems, libraries and mail
// clients, whose hellos Debian's testssl.sh package ships), whether it
// connects, with what, or why not. Each answer is computed from the
// endpoint's enumerated facts where they decide it, and read from the
// server's answer to the client's own hello where they do not. Facts
// only: which clients must connect is the policy's call. See
// docs/client-simulation.md.
type ClientsResult struct {
	// Source names the client list: its origin and version.
	Source  string         `json:"source"`
	Clients []ClientResult `json:"clients"`
	// Hellos counts the clients whose own hello was sent; Connections
	// the TCP connections that took.
	Hellos      int `json:"hellos"`
	Connections int `json:"connections"`
}

// Client returns the answer for the client with id, or nil.
func (r *ClientsResult) Client(id string) *ClientResult {
	if r == nil {
		return nil
	}
	for i := range r.Clients {
		if r.Clients[i].ID == id {
			return &r.Clients[i]
		}
	}
	return nil
}

// Failing returns the clients that do not connect.
func (r *ClientsResult) Failing() []ClientResult {
	if r == nil {
		return nil
	}
	var out []ClientResult
	for _, c := range r.Clients {
		if !c.Connects {
			out = append(out, c)
		}
	}
	return out
}

// How a client's answer was found (ClientResult.Method).
const (
	// ClientComputed: computed from the enumerated facts, which decide it.
	ClientComputed = "computed"
	// ClientHello: the server's answer to the client's own hello.
	ClientHello = "hello"
	// ClientEstimated: the facts did not decide it and the client's hello
	// was not sent (the probe's budget of hellos was spent) or got no
	// answer; the answer is the likeliest, and Uncertain says why.
	ClientEstimated = "estimated"
)

// Why a client does not connect (ClientResult.Reason).
const (
	ClientNoVersion     = "no_common_version"
	ClientNoSuite       = "no_common_suite"
	ClientNoGroup       = "no_common_group"
	ClientDHTooSmall    = "dh_too_small"
	ClientDHTooLarge    = "dh_too_large"
	ClientKeyTooSmall   = "key_too_small"
	ClientKeyTooLarge   = "key_too_large"
	ClientSHA1Signature = "sha1_signature"
	ClientNeedsSNI      = "sni_required"
	ClientRefused       = "refused" // the server refused the client's own hello
	ClientNoCertificate = "no_certificate"
)

// ClientResult is one client's simulated connection to the endpoint.
type ClientResult struct {
	// ID is the client's short name in the list (testssl.sh's, e.g.
	// "ie_11_win7"); Name the name people read ("IE 11 Win 7").
	ID   string `json:"id"`
	Name string `json:"name"`
	// Services are the protocols the client speaks, as its list gives
	// them: "HTTP", "SMTP", "IMAP", "POP", "FTP", or "ANY" for a library
	// (OpenSSL, Java) that any protocol may use. Empty in reports written
	// before the field existed. AppliesTo reads them.
	Services []string `json:"services,omitempty"`
	Connects bool     `json:"connects"`
	// Version, Suite and Group are what the client negotiates; Group is
	// the ECDHE curve or TLS 1.3 group, empty for RSA key exchange and for
	// a DHE suite (DHBits gives the prime's size).
	Version Version `json:"version,omitempty"`
	Suite   *Suite  `json:"suite,omitempty"`
	Group   string  `json:"group,omitempty"`
	DHBits  int     `json:"dh_bits,omitempty"`
	// Chain is the ChainID of the certificate chain the client gets.
	Chain string `json:"chain,omitempty"`
	// Reason says why the client does not connect (one of the Client...
	// reasons), Detail says it in words.
	Reason string `json:"reason,omitempty"`
	Detail string `json:"detail,omitempty"`
	// Method says how the answer was found: computed, hello or estimated.
	Method string `json:"method"`
	// Uncertain names what the facts left open, when the answer was not
	// computed (why the hello was sent, or what the estimate guesses).
	Uncertain []string `json:"uncertain,omitempty"`
}

// ClientService returns the service name client lists use for the
// protocol spoken inside k's TLS ("HTTP" for https, "SMTP" for smtp,
// submission, smtps and mail, "IMAP", "POP", "FTP"), or "" for a kind no
// end-user client is listed for (LDAP, XMPP, PostgreSQL, MySQL): there
// only the libraries listed as "ANY" apply. The empty kind is https.
func (k Kind) ClientService() string {
	switch k {
	case KindHTTPS, "":
		return "HTTP"
	case KindSMTP, KindSubmission, KindSMTPS, KindMail:
		return "SMTP"
	case KindIMAP, KindIMAPS:
		return "IMAP"
	case KindPOP3, KindPOP3S:
		return "POP"
	case KindFTP, KindFTPS:
		return "FTP"
	}
	return ""
}

// AppliesTo reports whether the client is one that connects to a service
// of kind k: a client listed for any service ("ANY") applies to every
// kind; a browser applies to https, a mail client to the mail kinds. On
// kind tls, whose protocol inside is unknown, every client applies, and
// so does a client whose services are not recorded (an older report):
// the answer stays what it was before services were recorded.
func (c *ClientResult) AppliesTo(k Kind) bool {
	if len(c.Services) == 0 || k == KindTLS || slices.Contains(c.Services, "ANY") {
		return true
	}
	svc := k.ClientService()
	return svc != "" && slices.Contains(c.Services, svc)
}
