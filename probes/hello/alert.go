package hello

import (
	"fmt"

	"github.com/tlswarden/tlswarden"
)

// Alert levels (RFC 5246, section 7.2).
const (
	AlertWarning = 1
	AlertFatal   = 2
)

// Alert descriptions a scanner reasons about.
const (
	AlertCloseNotify          = 0
	AlertHandshakeFailure     = 40
	AlertProtocolVersion      = 70
	AlertInsufficientSecurity = 71
	AlertUnrecognizedName     = 112
)

// alertNames are the RFC names of alert descriptions (RFC 5246, 6066, 7301,
// 8446 and the ECH draft).
var alertNames = map[uint8]string{
	0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 21: "decryption_failed",
	22: "record_overflow", 30: "decompression_failure", 40: "handshake_failure", 41: "no_certificate",
	42: "bad_certificate", 43: "unsupported_certificate", 44: "certificate_revoked",
	45: "certificate_expired", 46: "certificate_unknown", 47: "illegal_parameter", 48: "unknown_ca",
	49: "access_denied", 50: "decode_error", 51: "decrypt_error", 60: "export_restriction",
	70: "protocol_version", 71: "insufficient_security", 80: "internal_error",
	86: "inappropriate_fallback", 90: "user_canceled", 100: "no_renegotiation",
	109: "missing_extension", 110: "unsupported_extension", 111: "certificate_unobtainable",
	112: "unrecognized_name", 113: "bad_certificate_status_response", 114: "bad_certificate_hash_value",
	115: "unknown_psk_identity", 116: "certificate_required", 120: "no_application_protocol",
	121: "ech_required",
}

// AlertName returns the RFC name of an alert description, or
// "alert_<number>" for one not in the registry.
func AlertName(desc uint8) string {
	if n, ok := alertNames[desc]; ok {
		return n
	}
	return fmt.Sprintf("alert_%d", desc)
}

// AlertError is a TLS alert the server sent instead of (or after) its
// ServerHello.
type AlertError struct {
	Level       uint8
	Description uint8
}

// Name returns the RFC name of the alert's description.
func (e *AlertError) Name() string { return AlertName(e.Description) }

func (e *AlertError) Error() string {
	level := "fatal"
	if e.Level == AlertWarning {
		level = "warning"
	} else if e.Level != AlertFatal {
		level = fmt.Sprintf("level %d", e.Level)
	}
	return fmt.Sprintf("tls alert: %s %s (%d)", level, e.Name(), e.Description)
}

// Status classifies an alert for a report: TLS was spoken, but no handshake
// was possible.
func (e *AlertError) Status() tlswarden.Status { return tlswarden.StatusHandshakeError }

// protocolError returns a *tlswarden.ProtocolError with a formatted message.
func protocolError(format string, args ...any) error {
	return &tlswarden.ProtocolError{Msg: fmt.Sprintf(format, args...)}
}
