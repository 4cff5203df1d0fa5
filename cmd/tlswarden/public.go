package main

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// publicURLs is the value of the repeatable --public-url.
type publicURLs []*url.URL

func (p *publicURLs) String() string {
	if p == nil {
		return ""
	}
	out := make([]string, len(*p))
	for i, u := range *p {
		out[i] = u.String()
	}
	return strings.Join(out, ",")
}

// Set adds the URLs of a comma-separated list.
func (p *publicURLs) Set(s string) error {
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		u, err := url.Parse(part)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil {
			return fmt.Errorf("public URL %q: want http:// or https:// and a host, such as https://tlswarden.example.org", part)
		}
		*p = append(*p, u)
	}
	return nil
}

// hosts returns the host names of the URLs.
func (p publicURLs) hosts() []string {
	out := make([]string, 0, len(p))
	for _, u := range p {
		out = append(out, u.Hostname())
	}
	return out
}

// warnOpenReads warns when anyone who reaches a non-loopback listener can
// read the estate: which services fail which rules is a map for an
// attacker.
func (m *Main) warnOpenReads() {
	if m.AuthReads || m.ln == nil {
		return
	}
	if tcp, ok := m.ln.Addr().(*net.TCPAddr); ok && tcp.IP.IsLoopback() {
		return
	}
	m.log.Warn("reads of the API are open to anyone who can reach this address: set --auth-reads (and --auth-metrics) unless a proxy in front authenticates", "listen", m.ln.Addr().String())
}

// base returns the first URL without a trailing slash, the one links
// printed for people start with; "" when none was given.
func (p publicURLs) base() string {
	if len(p) == 0 {
		return ""
	}
	return strings.TrimSuffix(p[0].String(), "/")
}
