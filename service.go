package tlswarden

import (
	"context"
	"errors"
	"net"
)

// ServiceResult holds what a server said before TLS on a kind whose TLS
// starts after a protocol exchange (STARTTLS, SSLRequest): facts only;
// whether STARTTLS must be offered is the policy's to judge.
type ServiceResult struct {
	Kind Kind `json:"kind"`
	// Banner is the server's greeting (SMTP, IMAP, POP3, FTP), its stream
	// header (XMPP) or its version (MySQL), printable and bounded.
	Banner string `json:"banner,omitempty"`
	// Capabilities are what the server announced before TLS: EHLO
	// keywords, IMAP CAPABILITY, POP3 CAPA, FTP FEAT, XMPP stream
	// features, upper-cased where the protocol is case-insensitive.
	Capabilities []string `json:"capabilities,omitempty"`
	// StartTLS says whether the server offered to start TLS and agreed
	// when asked: false means every connection stays in plain text.
	StartTLS bool `json:"starttls"`
	// Reply is the server's answer to the request to start TLS, or to
	// the step that failed.
	Reply  string `json:"reply,omitempty"`
	Status Status `json:"status"`
	Error  string `json:"error,omitempty"`
}

// Preamble brings a new connection to an endpoint to the point where the
// server expects a TLS ClientHello, and returns what the server said on
// the way. It returns nil only when TLS can start; when the server does
// not offer STARTTLS, the error wraps ErrNoStartTLS and the result says
// so. host names the service (EHLO, XMPP's to), empty for an IP target.
type Preamble func(ctx context.Context, c net.Conn, host string) (*ServiceResult, error)

// ErrNoStartTLS is the error of a preamble whose server does not offer to
// start TLS: a fact about the server, not a failure of the scan.
var ErrNoStartTLS = errors.New("the server does not offer STARTTLS")
