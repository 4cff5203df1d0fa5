package probes

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/activetime"
)

// DefaultCORSOrigin is the Origin the CORS preflight sends by default: an
// origin of tlswarden's own under .invalid (RFC 2606), which no server
// lists on purpose, so one that allows it allows any origin. The MDN HTTP
// Observatory sends its own site's origin in the same way.
const DefaultCORSOrigin = "https://cors-check.tlswarden.invalid"

// preflight sends the CORS preflight the MDN HTTP Observatory sends after
// its fetch: OPTIONS to the URL the headers came from, with Origin and
// Access-Control-Request-Method: GET, through rt (the HTTPS fetch's
// transport, its dial and its connection cap) within Timeout. The
// response's body is not read: only its status and two headers count. A
// failed preflight is recorded in the result, never returned: it must not
// fail the probe.
func (r *httpRun) preflight(ctx context.Context, rt http.RoundTripper, final *fetched) *tlswarden.CORSResult {
	res := &tlswarden.CORSResult{
		URL: final.url.String(), Origin: r.cfg.CORSOrigin, Status: tlswarden.StatusOK,
		GETAllowOrigin: len(final.header.Values("Access-Control-Allow-Origin")) > 0,
	}
	ctx, cancel := activetime.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	resp, err := r.sendPreflight(ctx, rt, res.URL)
	if err != nil {
		res.Status, res.Error = tlswarden.StatusOf(err), err.Error()
		return res
	}
	resp.Body.Close()
	res.StatusCode = resp.StatusCode
	res.AllowOrigin = joinedHeader(resp.Header, "Access-Control-Allow-Origin")
	res.AllowCredentials = joinedHeader(resp.Header, "Access-Control-Allow-Credentials")
	return res
}

// sendPreflight sends the OPTIONS request; the caller closes the body.
func (r *httpRun) sendPreflight(ctx context.Context, rt http.RoundTripper, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodOptions, u, nil)
	if err != nil {
		return nil, fmt.Errorf("OPTIONS %s: %w", u, err)
	}
	req.Header.Set("User-Agent", r.cfg.UserAgent)
	req.Header.Set("Accept", acceptHTML)
	req.Header.Set("Origin", r.cfg.CORSOrigin)
	req.Header.Set("Access-Control-Request-Method", http.MethodGet)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return nil, ctxError(ctx, fmt.Errorf("OPTIONS %s: %w", u, err))
	}
	return resp, nil
}

// joinedHeader returns every value of a header joined with ", ", as one
// field line would carry them (so that two Access-Control-Allow-Origin
// headers never read as one origin, as in browsers), or nil when the
// header is absent.
func joinedHeader(h http.Header, name string) *string {
	vs := h.Values(name)
	if len(vs) == 0 {
		return nil
	}
	s := strings.Join(vs, ", ")
	return &s
}

// isOrigin reports whether s is a serialised origin: scheme://host with an
// optional port, and nothing else.
func isOrigin(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme != "" && u.Host != "" && u.User == nil && u.Opaque == "" &&
		u.Path == "" && u.RawQuery == "" && !u.ForceQuery && u.Fragment == "" && !strings.ContainsAny(s, "?#")
}
