// Package web serves tlswarden's pages for people: the estate, a target's
// report and its history, as server-rendered HTML that works without
// JavaScript. It reads the same store queries as the JSON API beside it,
// and every page links to the JSON of the same thing.
//
// Handlers build a view (a plain struct) in Go and hand it to a template;
// templates only print and loop, so what a page says is decided here and
// tested here.
//
// With Config.AuthReads, pages need a signed-in read (or admin) token,
// kept in an HttpOnly, SameSite=Strict cookie (auth.go).
package web

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tlswarden/tlswarden/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// ContentSecurityPolicy is the policy of every page: nothing but the
// stylesheet loads, no script runs, forms post only here, nothing frames
// the pages.
const ContentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Config configures the pages. Its zero value works apart from Store.
type Config struct {
	Store store.Store
	// Tokens checks sign-ins (default: Store, when it is a
	// store.TokenStore).
	Tokens store.TokenStore
	// AuthReads makes every page but the sign-in need a read token.
	AuthReads bool
	// Waivers manages waiver records (the /waivers page); without it the
	// page says there are none.
	Waivers Waivers
	// OpenAPI is the API's description, served at /openapi.yaml.
	OpenAPI []byte
	Logger  *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (c *Config) validate() error {
	var errs []error
	if c.Store == nil {
		errs = append(errs, errors.New("a store is required"))
	}
	if _, ok := c.Store.(store.TokenStore); c.AuthReads && c.Tokens == nil && !ok {
		errs = append(errs, errors.New("reads that need a token need a token store"))
	}
	return errors.Join(errs...)
}

// Server is the pages' http.Handler.
type Server struct {
	cfg   Config
	log   *slog.Logger
	mux   *http.ServeMux
	pages map[string]*template.Template
}

// New returns the pages' handler.
func New(cfg Config) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("web config: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if ts, ok := cfg.Store.(store.TokenStore); ok && cfg.Tokens == nil {
		cfg.Tokens = ts
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(), pages: pages}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	s.handle("GET /{$}", s.estate)
	s.handle("GET /targets/{id}", s.targetReport)
	s.handle("GET /scans/{id}", s.scanReport)
	s.handle("GET /targets/{id}/history", s.history)
	s.handle("GET /waivers", s.waiversPage)
	s.handle("POST /waivers", s.requestWaiver)
	s.handle("POST /waivers/{id}/approve", s.approveWaiver)
	s.handle("POST /waivers/{id}/revoke", s.revokeWaiver)
	s.handle("GET /notifications", s.subscriptionsPage)
	s.handle("POST /notifications", s.addSubscription)
	s.handle("POST /notifications/{id}/state", s.toggleSubscription)
	s.handle("POST /notifications/{id}/remove", s.removeSubscription)
	s.handle("GET /signin", s.signInPage)
	s.handle("POST /signin", s.signIn)
	s.handle("POST /signout", s.signOut)
	s.mux.Handle("GET /static/", s.static())
	s.mux.HandleFunc("GET /openapi.yaml", s.openAPI)
	s.handle("/", func(http.ResponseWriter, *http.Request) error {
		return &pageError{status: http.StatusNotFound, msg: "There is no page here."}
	})
}

// handlerFunc is a page handler that returns its error for handle to
// answer with an error page.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (s *Server) handle(pattern string, h handlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// ServeHTTP serves the pages with their own security headers; a page that
// needs a sign-in redirects to it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	if r.TLS != nil {
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	}
	r = withCSRF(w, s.withSession(r))
	if s.needsSignIn(r) {
		http.Redirect(w, r, "/signin?next="+url.QueryEscape(safeNext(r.URL.RequestURI())), http.StatusSeeOther)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// pageError is an error shown to a person with its status.
type pageError struct {
	status int
	msg    string
}

func (e *pageError) Error() string { return e.msg }

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var pe *pageError
	switch {
	case errors.As(err, &pe):
	case errors.Is(err, store.ErrNotFound):
		pe = &pageError{status: http.StatusNotFound, msg: "Not found: " + err.Error()}
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		pe = &pageError{status: http.StatusServiceUnavailable, msg: "The request was cancelled or timed out."}
	default:
		s.log.ErrorContext(r.Context(), "page failed", "method", r.Method, "path", r.URL.Path, "err", err)
		pe = &pageError{status: http.StatusInternalServerError, msg: "Something went wrong; the server's log says what."}
	}
	s.render(w, r, pe.status, "error", errorView{Message: pe.msg, Status: pe.status, StatusText: http.StatusText(pe.status)})
}

// errorView is the error page's content.
type errorView struct {
	Message    string
	Status     int
	StatusText string
}

// layout is what every page's frame shows around its content.
type layout struct {
	Title    string
	JSON     string // the API's URL of the same thing
	SignedIn bool
	AuthOn   bool
	CSRF     string
	Page     any
}

// titled lets a view name its page's title and JSON link.
type titled interface {
	title() string
	jsonURL() string
}

// render executes a page into a buffer first, so that a template error
// becomes a 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, view any) {
	l := layout{Page: view, AuthOn: s.cfg.AuthReads, SignedIn: s.signedIn(r)}
	if t, ok := view.(titled); ok {
		l.Title, l.JSON = t.title(), t.jsonURL()
	}
	if ev, ok := view.(errorView); ok {
		l.Title = ev.StatusText
	}
	l.CSRF = csrfToken(r)
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout", l); err != nil {
		s.log.ErrorContext(r.Context(), "render page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (s *Server) static() http.Handler {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic("web: embedded static files: " + err.Error())
	}
	return http.StripPrefix("/static/", http.FileServerFS(sub))
}

func (s *Server) openAPI(w http.ResponseWriter, _ *http.Request) {
	if len(s.cfg.OpenAPI) == 0 {
		http.NotFound(w, nil)
		return
	}
	w.Header().Set("Content-Type", "application/yaml")
	w.Write(s.cfg.OpenAPI)
}

// pathID reads a positive ID from the path.
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, &pageError{status: http.StatusNotFound, msg: "Not found: " + strconv.Quote(r.PathValue("id")) + " is not an ID."}
	}
	return id, nil
}

// parsePages parses each page template with the layout and the helpers.
func parsePages() (map[string]*template.Template, error) {
	names := []string{"estate", "report", "history", "signin", "error", "waivers", "subscriptions"}
	out := map[string]*template.Template{}
	for _, n := range names {
		t, err := template.New(n).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+n+".html")
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", n, err)
		}
		out[n] = t
	}
	return out, nil
}

// funcs are the templates' formatting helpers: formatting only, no
// decisions.
var funcs = template.FuncMap{
	"date": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"day": func(t time.Time) string { return t.UTC().Format("2006-01-02") },
	// gclass is a grade's colour class: its letter, lower-case.
	"gclass": func(g string) string {
		if g == "" || g == "no grade" {
			return "none"
		}
		return strings.ToLower(g[:1])
	},
}
