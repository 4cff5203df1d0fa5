package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/tlswarden/tlswarden/store"
)

// Cookie names. The session cookie holds the token itself: the token is
// already a 256-bit secret the store knows only by its hash, so a second
// secret would add a table and nothing else.
const (
	sessionCookie = "tlswarden_session"
	csrfCookie    = "tlswarden_csrf"
	// maxTokenLen bounds what is hashed and looked up.
	maxTokenLen = 128
	// sessionAge is how long a sign-in lasts.
	sessionAge = 12 * time.Hour
)

type sessionKey struct{}

// withSession puts the request's signed-in token, if any, in its context,
// so that the store is asked once per request.
func (s *Server) withSession(r *http.Request) *http.Request {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return r
	}
	tok, ok := s.checkToken(r.Context(), c.Value)
	if !ok {
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), sessionKey{}, tok))
}

// session returns the request's signed-in token.
func session(r *http.Request) (store.Token, bool) {
	tok, ok := r.Context().Value(sessionKey{}).(store.Token)
	return tok, ok
}

func (s *Server) signedIn(r *http.Request) bool {
	_, ok := session(r)
	return ok
}

// checkToken returns the valid, unrevoked token whose secret this is.
func (s *Server) checkToken(ctx context.Context, secret string) (store.Token, bool) {
	secret = strings.TrimSpace(secret)
	if s.cfg.Tokens == nil || secret == "" || len(secret) > maxTokenLen {
		return store.Token{}, false
	}
	h := sha256.Sum256([]byte(secret))
	tok, err := s.cfg.Tokens.TokenByHash(ctx, h[:])
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.log.WarnContext(ctx, "look up a sign-in token", "err", err)
		}
		return store.Token{}, false
	}
	if subtle.ConstantTimeCompare(tok.Hash, h[:]) != 1 || tok.Revoked() || !tok.Role.Allows(store.RoleRead) {
		return store.Token{}, false
	}
	return tok, true
}

// needsSignIn reports whether the request must sign in first: reads need
// a token, and this is neither the sign-in itself nor its stylesheet.
func (s *Server) needsSignIn(r *http.Request) bool {
	if !s.cfg.AuthReads || s.signedIn(r) {
		return false
	}
	p := r.URL.Path
	return p != "/signin" && !strings.HasPrefix(p, "/static/")
}

// signInAllowed reports whether a token may be typed in here: over HTTPS,
// or over plain HTTP from this machine, where it crosses no network.
func signInAllowed(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// withCSRF puts the request's CSRF token in its context, setting the
// cookie that carries it when there is none (double-submit: a form must
// send back the value its cookie holds, which another site can neither
// read nor set). Once per request, so that a page sets one cookie only.
func withCSRF(w http.ResponseWriter, r *http.Request) *http.Request {
	v := ""
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 26 && len(c.Value) <= 64 {
		v = c.Value
	} else {
		v = rand.Text()
		http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: v, Path: "/", HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	}
	return r.WithContext(context.WithValue(r.Context(), csrfKey{}, v))
}

type csrfKey struct{}

// csrfToken returns the request's CSRF token, for its forms.
func csrfToken(r *http.Request) string {
	v, _ := r.Context().Value(csrfKey{}).(string)
	return v
}

// checkCSRF checks a form's CSRF field against its cookie.
func checkCSRF(r *http.Request) error {
	c, err := r.Cookie(csrfCookie)
	form := r.PostFormValue("csrf")
	if err != nil || form == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(form)) != 1 {
		return &pageError{status: http.StatusForbidden, msg: "The form has expired or came from another site: reload the page and try again."}
	}
	return nil
}

// signInView is the sign-in page's content.
type signInView struct {
	Allowed bool
	Next    string
	Error   string
	CSRF    string
	// Role is the role of the token signed in, if any.
	Role string
}

func (v signInView) title() string   { return "Sign in" }
func (v signInView) jsonURL() string { return "" }

func (s *Server) signInPage(w http.ResponseWriter, r *http.Request) error {
	v := signInView{Allowed: signInAllowed(r), Next: safeNext(r.URL.Query().Get("next")), CSRF: csrfToken(r)}
	if tok, ok := session(r); ok {
		v.Role = string(tok.Role)
	}
	s.render(w, r, http.StatusOK, "signin", v)
	return nil
}

func (s *Server) signIn(w http.ResponseWriter, r *http.Request) error {
	if err := checkCSRF(r); err != nil {
		return err
	}
	v := signInView{Allowed: signInAllowed(r), Next: safeNext(r.PostFormValue("next")), CSRF: csrfToken(r)}
	if !v.Allowed {
		return &pageError{status: http.StatusForbidden, msg: "Sign-in is offered over HTTPS, or over plain HTTP on this machine only."}
	}
	secret := r.PostFormValue("token")
	if _, ok := s.checkToken(r.Context(), secret); !ok {
		v.Error = "That token is unknown, revoked, or may not read."
		s.render(w, r, http.StatusUnauthorized, "signin", v)
		return nil
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: strings.TrimSpace(secret), Path: "/", MaxAge: int(sessionAge / time.Second),
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, v.Next, http.StatusSeeOther)
	return nil
}

func (s *Server) signOut(w http.ResponseWriter, r *http.Request) error {
	if err := checkCSRF(r); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

// safeNext returns a local path to go to after signing in: anything that
// could leave the site ("//host", "https://...", "/\host") becomes "/".
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\r\n") {
		return "/"
	}
	return next
}
