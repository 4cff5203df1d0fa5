package api

import (
	"mime"
	"net/http"
	"strings"
)

// crossOrigin refuses unsafe requests that a browser says come from
// another origin: Sec-Fetch-Site other than same-origin or none, or,
// without it, an Origin whose host is not the request's Host. Requests
// that carry neither (curl, scripts, Prometheus) are let through.
var crossOrigin = http.NewCrossOriginProtection()

// checkCrossSite refuses a write that comes from another site, whatever
// token it carries: a page the operator opens must not be able to add
// targets or start scans through the operator's browser, with or without
// --demo's open writes.
func checkCrossSite(r *http.Request) error {
	if !isWrite(r.Method) {
		return nil
	}
	if err := crossOrigin.Check(r); err != nil {
		return &Error{Status: http.StatusForbidden, Msg: "cross-site write refused: the request comes from another origin (Origin or Sec-Fetch-Site)"}
	}
	return nil
}

// checkJSONBody refuses a write whose body is not declared JSON. HTML
// forms and a page's "simple" requests can send only form encodings and
// text/plain without a CORS preflight, so requiring application/json
// keeps them out even from a browser that sends no Origin.
func checkJSONBody(r *http.Request) error {
	if !isWrite(r.Method) || r.ContentLength == 0 {
		return nil
	}
	if !isJSON(r.Header.Get("Content-Type")) {
		return &Error{Status: http.StatusUnsupportedMediaType, Msg: "a request body must be JSON: send Content-Type: application/json"}
	}
	return nil
}

// isJSON reports whether a Content-Type names JSON: application/json or
// a +json type such as application/merge-patch+json.
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}
