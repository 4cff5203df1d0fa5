package tlswarden

// CertResult is what the certificate probe found on one endpoint. It is
// filled in by probes/cert.go; see docs/report-schema.md.
type CertResult struct{}
