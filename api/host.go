package api

import (
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
)

// HostAllowed reports whether a request's Host header names this server:
// an IP literal (how kubelet probes, Prometheus's pod discovery and
// anyone dialling an address reach it), localhost, or one of names (the
// hosts of its --public-url). Any other name may be one an attacker's DNS
// points at the server (DNS rebinding), which would make a page of the
// attacker's origin able to read the API through the victim's browser.
func HostAllowed(host string, names []string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	return host == "localhost" || strings.HasSuffix(host, ".localhost") || slices.Contains(names, host)
}

// HostCheck returns h behind HostAllowed: a request for another host name
// is answered 421 Misdirected Request, with a JSON error that says how to
// allow the name.
func HostCheck(names []string, h http.Handler) http.Handler {
	norm := make([]string, len(names))
	for i, n := range names {
		norm[i] = strings.TrimSuffix(strings.ToLower(n), ".")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if HostAllowed(r.Host, norm) {
			h.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusMisdirectedRequest)
		json.NewEncoder(w).Encode(errorBody{Error: "this server does not serve host " + r.Host + ": give it with --public-url, or use an IP address or localhost"})
	})
}
