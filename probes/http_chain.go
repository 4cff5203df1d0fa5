package probes

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/activetime"
)

// fetched is one response: its header and the start of its body.
type fetched struct {
	url       *url.URL
	status    int
	proto     string
	header    http.Header
	body      []byte
	truncated bool
}

// chain is what following redirects from one URL met.
type chain struct {
	redirects []tlswarden.HTTPRedirect
	stop      string   // why the last redirect was not followed
	last      *fetched // the last response received, nil if none
}

// hopRule says why a redirect target must not be followed, or "" to follow.
type hopRule func(target *url.URL) string

// follow GETs start and follows redirects that rule allows, at most
// MaxRedirects and never to a URL already fetched. seen is called with
// every response. On error the chain holds what came before it.
func (r *httpRun) follow(ctx context.Context, rt http.RoundTripper, start *url.URL, rule hopRule, seen func(*fetched)) (chain, error) {
	var c chain
	visited := map[string]bool{start.String(): true}
	for u := start; ; {
		f, err := r.get(ctx, rt, u)
		if f != nil {
			c.last = f
			seen(f)
		}
		if err != nil {
			return c, err
		}
		loc := f.header.Get("Location")
		if !isRedirect(f.status) || loc == "" {
			return c, nil
		}
		next, stop := r.nextHop(u, loc, rule, visited, len(c.redirects))
		hop := tlswarden.HTTPRedirect{URL: u.String(), StatusCode: f.status, Location: loc, Followed: stop == ""}
		if next != nil {
			hop.Target = next.String()
		}
		c.redirects = append(c.redirects, hop)
		if stop != "" {
			c.stop = stop
			return c, nil
		}
		visited[hop.Target] = true
		u = next
	}
}

// isRedirect reports the status codes browsers follow with Location.
func isRedirect(code int) bool {
	switch code {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// nextHop resolves a Location against the current URL and says whether to
// follow it: the rule first, then loops, then the redirect budget.
func (r *httpRun) nextHop(cur *url.URL, loc string, rule hopRule, visited map[string]bool, followed int) (*url.URL, string) {
	ref, err := url.Parse(loc)
	if err != nil {
		return nil, "bad_location"
	}
	next := cur.ResolveReference(ref)
	next.Fragment, next.RawFragment = "", ""
	if stop := rule(next); stop != "" {
		return next, stop
	}
	switch {
	case visited[next.String()]:
		return next, "loop"
	case followed >= r.cfg.MaxRedirects:
		return next, "too_many"
	}
	return next, ""
}

// acceptHTML is the Accept header of every GET and of the CORS preflight
// (the Observatory's session sends its own Accept on both).
const acceptHTML = "text/html,application/xhtml+xml,*/*;q=0.8"

// get sends one GET and reads at most MaxBodyBytes of the body, all within
// Timeout. When the body cannot be read to its end or the cap, the
// response is returned with the error, so its header still counts.
func (r *httpRun) get(ctx context.Context, rt http.RoundTripper, u *url.URL) (*fetched, error) {
	ctx, cancel := activetime.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	req.Header.Set("User-Agent", r.cfg.UserAgent)
	req.Header.Set("Accept", acceptHTML)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return nil, ctxError(ctx, fmt.Errorf("GET %s: %w", u, err))
	}
	defer resp.Body.Close()
	f := &fetched{url: u, status: resp.StatusCode, proto: resp.Proto, header: resp.Header}
	f.body, err = io.ReadAll(io.LimitReader(resp.Body, r.cfg.MaxBodyBytes+1))
	if int64(len(f.body)) > r.cfg.MaxBodyBytes {
		f.body, f.truncated = f.body[:r.cfg.MaxBodyBytes], true
	}
	if err == nil && ctx.Err() != nil && !f.truncated {
		// net/http can end a body cut off by the deadline with a clean EOF:
		// a short body read after the deadline is a timeout, not a response.
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return f, ctxError(ctx, fmt.Errorf("GET %s: reading body: %w", u, err))
	}
	return f, nil
}

// ctxError marks an error that happened because ctx ended, so that it is
// classified as a timeout or a cancellation rather than a network failure.
func ctxError(ctx context.Context, err error) error {
	if ctx.Err() == nil {
		return err
	}
	return fmt.Errorf("%w: %w", ctx.Err(), err)
}
