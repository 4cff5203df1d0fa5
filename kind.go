package tlswarden

import (
	"slices"
	"strings"
)

// The kinds of service a target can be. A kind says what is spoken on the
// port before TLS (nothing, or a protocol's STARTTLS exchange) and what is
// spoken inside it (HTTP, or something tlswarden does not look into).
const (
	// KindTLS is TLS directly on connect with no HTTP inside: any service
	// on any port whose protocol tlswarden does not speak.
	KindTLS Kind = "tls"

	// Implicit TLS on the protocols' own ports (RFC 8314 for mail).
	KindSMTPS Kind = "smtps"
	KindIMAPS Kind = "imaps"
	KindPOP3S Kind = "pop3s"
	KindFTPS  Kind = "ftps"
	KindLDAPS Kind = "ldaps"

	// STARTTLS: the protocol's own exchange, then TLS on the same
	// connection.
	KindSMTP       Kind = "smtp"        // RFC 3207, MX relay on 25
	KindSubmission Kind = "submission"  // RFC 3207 on 587 (RFC 6409)
	KindIMAP       Kind = "imap"        // RFC 3501 STARTTLS
	KindPOP3       Kind = "pop3"        // RFC 2595 STLS
	KindFTP        Kind = "ftp"         // RFC 4217 AUTH TLS
	KindLDAP       Kind = "ldap"        // RFC 4511 StartTLS extended operation
	KindXMPP       Kind = "xmpp"        // RFC 6120, client to server
	KindXMPPServer Kind = "xmpp-server" // RFC 6120, server to server
	KindPostgres   Kind = "postgres"    // SSLRequest
	KindMySQL      Kind = "mysql"       // SSLRequest in the handshake response
)

// KindInfo describes one kind: its URL scheme (the kind's own name), its
// well-known port, and whether TLS starts after a protocol exchange.
type KindInfo struct {
	Kind     Kind
	Port     int  // the protocol's well-known port; 0 for tls, which has none
	StartTLS bool // a plain-text exchange comes before the ClientHello
}

// kinds lists every kind in the order documented (docs/report-schema.md).
var kinds = []KindInfo{
	{KindHTTPS, 443, false},
	{KindTLS, 0, false},
	{KindSMTPS, 465, false},
	{KindIMAPS, 993, false},
	{KindPOP3S, 995, false},
	{KindFTPS, 990, false},
	{KindLDAPS, 636, false},
	{KindSMTP, 25, true},
	{KindSubmission, 587, true},
	{KindIMAP, 143, true},
	{KindPOP3, 110, true},
	{KindFTP, 21, true},
	{KindLDAP, 389, true},
	{KindXMPP, 5222, true},
	{KindXMPPServer, 5269, true},
	{KindPostgres, 5432, true},
	{KindMySQL, 3306, true},
	{KindMail, 25, true}, // after smtp: a bare host:25 is smtp, not a domain
}

// kindAliases are other schemes people write for a kind.
var kindAliases = map[string]Kind{"postgresql": KindPostgres}

// Kinds returns every kind tlswarden knows, in documented order.
func Kinds() []KindInfo { return slices.Clone(kinds) }

// Info returns what is known of k; ok is false for an unknown kind.
func (k Kind) Info() (info KindInfo, ok bool) {
	i := slices.IndexFunc(kinds, func(ki KindInfo) bool { return ki.Kind == k })
	if i < 0 {
		return KindInfo{}, false
	}
	return kinds[i], true
}

// StartTLS reports whether a protocol exchange comes before TLS.
func (k Kind) StartTLS() bool {
	info, _ := k.Info()
	return info.StartTLS
}

// SpeaksHTTP reports whether HTTP is spoken inside the kind's TLS: only
// https. The empty kind of targets written before kinds existed is https.
func (k Kind) SpeaksHTTP() bool { return k == KindHTTPS || k == "" }

// ParseKind reads a kind's name or URL scheme, in any case.
func ParseKind(s string) (Kind, error) {
	s = strings.ToLower(s)
	if k, ok := kindAliases[s]; ok {
		return k, nil
	}
	if _, ok := Kind(s).Info(); ok {
		return Kind(s), nil
	}
	return "", &ParseError{Input: s, Msg: "unknown kind (known: " + kindNames() + ")"}
}

// KindOfPort returns the kind whose well-known port is port, and false
// when no kind names it (https's 443 included: it is the default anyway).
func KindOfPort(port int) (Kind, bool) {
	for _, ki := range kinds {
		if ki.Port == port && ki.Kind != KindHTTPS {
			return ki.Kind, true
		}
	}
	return "", false
}

func kindNames() string {
	names := make([]string, len(kinds))
	for i, ki := range kinds {
		names[i] = string(ki.Kind)
	}
	return strings.Join(names, ", ")
}
