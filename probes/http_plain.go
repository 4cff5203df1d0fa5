package probes

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sync/atomic"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/activetime"
)

// checkPlain asks plain HTTP on PlainPort of the endpoint's address for
// http://HOST/ and follows plain-HTTP redirects on the same host and port
// until one leads to HTTPS. Nothing listening is a fact, recorded in the
// result, and so is any other failure: the check never fails the probe.
func (r *httpRun) checkPlain(ctx context.Context) *tlswarden.PlainHTTPResult {
	port := uint16(r.cfg.PlainPort)
	start := originURL("http", r.host, port)
	res := &tlswarden.PlainHTTPResult{URL: start.String(), Status: tlswarden.StatusOK}
	var listening atomic.Bool
	tr := r.plainTransport(netip.AddrPortFrom(r.ep.Addr.Addr(), port), &listening)
	defer tr.CloseIdleConnections()
	c, err := r.follow(ctx, tr, start, r.plainHop, func(*fetched) {})
	res.Listening = listening.Load()
	if err != nil {
		res.Status, res.Error = tlswarden.StatusOf(err), err.Error()
	}
	if c.last != nil {
		res.StatusCode = c.last.status
	}
	res.Redirects, res.RedirectStop = c.redirects, c.stop
	plainRedirectFacts(res, r.host)
	return res
}

// plainHop follows plain-HTTP redirects on the same host and port, and
// stops at the first HTTPS one ("https"), which the HTTPS fetch covers.
func (r *httpRun) plainHop(u *url.URL) string {
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "not_https"
	case !sameHost(u.Hostname(), r.host):
		return "off_host"
	case u.Scheme == "https":
		return "https"
	case urlPort(u) != uint16(r.cfg.PlainPort):
		return "other_port"
	}
	return ""
}

// plainRedirectFacts derives whether the first redirect goes straight to
// HTTPS on the same host, and whether the chain reaches HTTPS at all.
func plainRedirectFacts(res *tlswarden.PlainHTTPResult, host string) {
	if len(res.Redirects) == 0 {
		return
	}
	first, err := url.Parse(res.Redirects[0].Target)
	res.FirstRedirectHTTPSSameHost = err == nil && first.Scheme == "https" && sameHost(first.Hostname(), host)
	last, err := url.Parse(res.Redirects[len(res.Redirects)-1].Target)
	res.ReachesHTTPS = err == nil && last.Scheme == "https"
}

// plainTransport returns a transport whose connections go to addr through
// DialPlain, bounded by the run and the per-request timeout. It sets
// listening once a connection is accepted.
func (r *httpRun) plainTransport(addr netip.AddrPort, listening *atomic.Bool) *http.Transport {
	tr := r.transport()
	tr.DialContext = func(context.Context, string, string) (net.Conn, error) {
		ctx, cancel := activetime.WithTimeout(r.ctx, r.cfg.Timeout)
		defer cancel()
		conn, err := r.connect(ctx, func(ctx context.Context) (net.Conn, error) { return r.cfg.DialPlain(ctx, addr) })
		if err == nil {
			listening.Store(true)
		}
		return conn, err
	}
	tr.DialTLSContext = func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("the plain-HTTP check does not speak HTTPS")
	}
	return tr
}
