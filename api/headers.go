package api

import "net/http"

// HSTSValue is the Strict-Transport-Security of responses over TLS: two
// years, the max-age Mozilla's guidelines (and so mozilla-intermediate)
// ask for.
const HSTSValue = "max-age=63072000; includeSubDomains"

// securityHeaders are the headers tlswarden's HTTP checks look for, set on
// every response: a JSON API has nothing to frame, embed, sniff or load.
var securityHeaders = [][2]string{
	{"Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"},
	{"X-Content-Type-Options", "nosniff"},
	{"Referrer-Policy", "no-referrer"},
	{"X-Frame-Options", "DENY"},
	{"Cross-Origin-Opener-Policy", "same-origin"},
	{"Cross-Origin-Resource-Policy", "same-origin"},
}

// SecurityHeaders returns h with the security headers on every response,
// and Strict-Transport-Security on those sent over TLS (over plain HTTP a
// browser ignores it, RFC 6797 section 8.1).
func SecurityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		for _, kv := range securityHeaders {
			hdr.Set(kv[0], kv[1])
		}
		if r.TLS != nil {
			hdr.Set("Strict-Transport-Security", HSTSValue)
		}
		h.ServeHTTP(w, r)
	})
}
