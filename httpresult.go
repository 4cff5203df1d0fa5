package tlswarden

// HTTPResult is what the HTTP probe found on one endpoint. It is filled in by
// probes/http.go; see docs/report-schema.md.
type HTTPResult struct{}
