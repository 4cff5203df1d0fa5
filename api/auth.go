package api

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/tlswarden/tlswarden/store"
)

// TokenPrefix begins every API token, so that one pasted where it should
// not be is easy to spot (and to search for in leaks).
const TokenPrefix = "tlsw_"

// tokenDisplayLen is how much of a token the store keeps for people to
// tell tokens apart: the prefix and 7 characters, 42 bits that say nothing
// useful about the other 214.
const tokenDisplayLen = len(TokenPrefix) + 7

// SessionCookie is the cookie in which the pages keep a signed-in read
// token (package web); reads of the API accept it too.
const SessionCookie = "tlswarden_session"

// maxTokenLen bounds the token a request may present: anything longer is
// refused before it is hashed or looked up.
const maxTokenLen = 128

// touchEvery is how stale a token's last-used time may get before a
// request updates it: one write a minute per token, not one per request.
const touchEvery = time.Minute

// NewToken makes a token for name with role: the secret, shown to the
// person once, and the record to store, which holds only its SHA-256 and
// its first characters. The secret carries 256 random bits, so a plain
// hash is as good as a slow one: there is nothing to guess.
func NewToken(name string, role store.Role) (secret string, t store.Token) {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand since Go 1.24)
	secret = TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return secret, store.Token{Name: name, Role: role, Prefix: secret[:tokenDisplayLen], Hash: HashToken(secret)}
}

// HashToken returns the SHA-256 of a token's secret, as the store keeps it.
func HashToken(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// isWrite reports whether a request changes something. Every method but
// GET, HEAD and OPTIONS counts, so that an unknown method is not a way
// round the check.
func isWrite(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// roleFor returns the role a request to the API needs, or "" when it
// needs none: writes need admin unless the API is open, reads need read
// when Config.AuthReads says so, and /healthz and /readyz are always open
// to reads, for load balancers and orchestrators.
func (s *Server) roleFor(r *http.Request) store.Role {
	switch {
	case isWrite(r.Method) && s.cfg.OpenWrites:
		return ""
	case isWrite(r.Method):
		return store.RoleAdmin
	case r.URL.Path == "/healthz" || r.URL.Path == "/readyz":
		return ""
	case s.cfg.AuthReads:
		return store.RoleRead
	}
	return ""
}

// Require returns h behind a bearer token of a role that allows need; the
// service puts /metrics behind it when told to.
func (s *Server) Require(need store.Role, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.authorize(w, r, need); err != nil {
			s.writeError(w, r, err)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// authorize checks the request's bearer token against need. On failure it
// sets WWW-Authenticate (RFC 6750) and returns the error to answer: 401
// for a missing, unknown or revoked token, 403 for one whose role falls
// short.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, need store.Role) error {
	if need == "" {
		return nil
	}
	tok, err := s.authenticate(r)
	var e *Error
	switch {
	case errors.As(err, &e) && e.Status == http.StatusUnauthorized:
		challenge := `Bearer realm="tlswarden"`
		if e.Field != "" {
			challenge += `, error="invalid_token"`
		}
		w.Header().Set("WWW-Authenticate", challenge)
		return err
	case err != nil:
		return err
	case !tok.Role.Allows(need):
		w.Header().Set("WWW-Authenticate", `Bearer realm="tlswarden", error="insufficient_scope"`)
		return &Error{Status: http.StatusForbidden, Msg: "token " + tok.Prefix + "… has role " + string(tok.Role) + "; this request needs " + string(need)}
	}
	s.touch(r, tok)
	return nil
}

// authenticate returns the valid token the request presents.
func (s *Server) authenticate(r *http.Request) (store.Token, error) {
	if s.cfg.Tokens == nil {
		return store.Token{}, &Error{Status: http.StatusUnauthorized, Msg: "this server has no tokens: the request cannot be authenticated"}
	}
	scheme, secret, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if c, err := r.Cookie(SessionCookie); err == nil && !ok && !isWrite(r.Method) {
		// A person signed in to the pages follows their links to the
		// JSON; the cookie never authorises a write (no CSRF check here).
		scheme, secret, ok = "Bearer", c.Value, true
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return store.Token{}, &Error{Status: http.StatusUnauthorized, Msg: "authentication required: send Authorization: Bearer TOKEN (tlswarden tokens create makes one)"}
	}
	bad := &Error{Status: http.StatusUnauthorized, Field: "token", Msg: "the token is unknown or revoked"}
	secret = strings.TrimSpace(secret)
	if secret == "" || len(secret) > maxTokenLen {
		return store.Token{}, bad
	}
	hash := HashToken(secret)
	tok, err := s.cfg.Tokens.TokenByHash(r.Context(), hash)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Token{}, bad
	case err != nil:
		return store.Token{}, err
	case subtle.ConstantTimeCompare(tok.Hash, hash) != 1 || tok.Revoked():
		return store.Token{}, bad
	}
	return tok, nil
}

// touch records that tok was used, at most once a touchEvery. A failure
// is logged, not answered: the request is authorised either way.
func (s *Server) touch(r *http.Request, tok store.Token) {
	now := s.cfg.Now()
	if now.Sub(tok.LastUsedAt) < touchEvery {
		return
	}
	if err := s.cfg.Tokens.TouchToken(r.Context(), tok.ID, now); err != nil {
		s.log.WarnContext(r.Context(), "record token use", "token_id", tok.ID, "err", err)
	}
}
