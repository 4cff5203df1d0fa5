// Package api serves tlswarden's registry and history as JSON over HTTP
// under /api/v1, with /healthz and /readyz beside it. docs/openapi.yaml
// describes every route.
//
// Writes need a bearer token of role admin, and reads one of role read
// when Config.AuthReads is set (auth.go); SecurityHeaders gives every
// response the headers tlswarden checks other servers for (headers.go).
//
// Handlers return errors; one table (statusFor) turns them into status
// codes, and every error reaches the client as {"error": "...", "field":
// "..."}: a store.ErrNotFound is a 404, ErrConflict a 409, ErrInvalid a
// 400, anything unexpected a 500 whose details stay in the log.
package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/tlswarden/tlswarden/jobs"
	"github.com/tlswarden/tlswarden/store"
)

// Scans asks for scans and says how the requests stand. *jobs.Queue is
// one.
type Scans interface {
	RequestScan(ctx context.Context, targetID int64, requestedBy string) (jobs.Request, error)
	Request(ctx context.Context, id int64) (jobs.Request, error)
	Requests(ctx context.Context, targetID int64, limit int) ([]jobs.Request, error)
}

// DefaultMaxBodyBytes bounds a request body unless Config says otherwise.
const DefaultMaxBodyBytes = 1 << 20

// Config configures the API. Its zero value works apart from Store.
type Config struct {
	Store store.Store
	// Scans enqueues requested scans; without it, asking for a scan
	// answers 503.
	Scans Scans
	// Ready reports whether the service can serve (default: the store
	// answers a query). /readyz answers 503 while it fails.
	Ready func(ctx context.Context) error
	// MaxBodyBytes bounds request bodies (default 1 MiB).
	MaxBodyBytes int64
	Logger       *slog.Logger

	// Tokens authenticates requests by bearer token (default: Store, when
	// it is a store.TokenStore). Writes need a token of role admin.
	Tokens store.TokenStore
	// AuthReads makes reads (all but /healthz and /readyz) need a token of
	// role read or admin.
	AuthReads bool
	// OpenWrites lets writes through without a token. Only `serve --demo`
	// on a loopback address sets it.
	OpenWrites bool
	// Waivers manages waiver records; without it, the waiver routes
	// answer 503.
	Waivers Waivers
	// Scope, when set, refuses a target whose host is an IP literal it
	// does not allow (400), when it is registered rather than only when
	// it is dialed. serve passes the scanner's own scope; workers must be
	// given the same scope flags. Names are checked when resolved.
	Scope interface{ Check(netip.Addr) error }
	// Now is the clock of tokens' last-used times (default time.Now).
	Now func() time.Time
}

func (c *Config) validate() error {
	var errs []error
	if c.Store == nil {
		errs = append(errs, errors.New("a store is required"))
	}
	if c.MaxBodyBytes < 0 {
		errs = append(errs, errors.New("max body bytes must not be negative"))
	}
	if _, ok := c.Store.(store.TokenStore); c.Tokens == nil && !ok && (!c.OpenWrites || c.AuthReads) {
		errs = append(errs, errors.New("a token store is required unless writes are open and reads need no token"))
	}
	return errors.Join(errs...)
}

// Server is the API's http.Handler.
type Server struct {
	cfg      Config
	log      *slog.Logger
	mux      *http.ServeMux
	patterns []string
}

// New returns the API handler.
func New(cfg Config) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("api config: %w", err)
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
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
	if cfg.Ready == nil {
		st := cfg.Store
		cfg.Ready = func(ctx context.Context) error {
			_, err := st.ListScans(ctx, store.ScanFilter{Limit: 1})
			return err
		}
	}
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux()}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	s.handle("GET /{$}", s.index)
	s.handle("GET /healthz", s.healthz)
	s.handle("GET /readyz", s.readyz)

	s.handle("GET /api/v1/targets", s.listTargets)
	s.handle("POST /api/v1/targets", s.createTarget)
	s.handle("POST /api/v1/targets/import", s.importTargets)
	s.handle("GET /api/v1/targets/{id}", s.getTarget)
	s.handle("PATCH /api/v1/targets/{id}", s.updateTarget)
	s.handle("DELETE /api/v1/targets/{id}", s.deleteTarget)
	s.handle("GET /api/v1/targets/{id}/scans", s.listTargetScans)
	s.handle("POST /api/v1/targets/{id}/scans", s.requestScan)
	s.handle("GET /api/v1/targets/{id}/scan-requests", s.listScanRequests)

	s.handle("GET /api/v1/scans", s.listScans)
	s.handle("GET /api/v1/scans/{id}", s.getScan)
	s.handle("GET /api/v1/scans/{id}/result", s.getScanResult)
	s.handle("GET /api/v1/scans/{id}/evaluation", s.evaluateScan)
	s.handle("GET /api/v1/scans/{id}/endpoints", s.listScanEndpoints)
	s.handle("GET /api/v1/scans/{id}/endpoints/{n}", s.getEndpointReport)
	s.handle("GET /api/v1/scan-requests/{id}", s.getScanRequest)

	s.handle("GET /api/v1/endpoints", s.listEndpoints)
	s.handle("GET /api/v1/findings", s.listFindings)
	s.handle("GET /api/v1/events", s.listEvents)
	s.handle("GET /api/v1/regressions", s.listRegressions)
	s.handle("GET /api/v1/posture.csv", s.postureCSV)

	s.handle("GET /api/v1/waivers", s.listWaivers)
	s.handle("POST /api/v1/waivers", s.requestWaiver)
	s.handle("GET /api/v1/waivers/{id}", s.getWaiver)
	s.handle("POST /api/v1/waivers/{id}/approve", s.approveWaiver)
	s.handle("POST /api/v1/waivers/{id}/revoke", s.revokeWaiver)
	s.handle("GET /api/v1/waiver-audit", s.listWaiverAudit)

	s.handle("GET /api/v1/subscriptions", s.listSubscriptions)
	s.handle("POST /api/v1/subscriptions", s.createSubscription)
	s.handle("GET /api/v1/subscriptions/{id}", s.getSubscription)
	s.handle("PATCH /api/v1/subscriptions/{id}", s.updateSubscription)
	s.handle("DELETE /api/v1/subscriptions/{id}", s.deleteSubscription)
	s.handle("GET /api/v1/deliveries", s.listDeliveries)
}

// handlerFunc is an HTTP handler that returns its error for ServeHTTP's
// caller to answer.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (s *Server) handle(pattern string, h handlerFunc) {
	s.patterns = append(s.patterns, pattern)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// ServeHTTP serves the API. A write from another site is a JSON 403,
// checked first (writes.go); a request without the token it needs is a
// JSON 401 (403 when the token's role falls short); a write with a body
// that is not declared JSON a 415; a path no route has is a JSON 404, and a method a path
// does not take a JSON 405 with the Allow header.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Answers change with every scan and may be a read token's: no cache,
	// shared or private, keeps them.
	w.Header().Set("Cache-Control", "no-store")
	if err := checkCrossSite(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.authorize(w, r, s.roleFor(r)); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := checkJSONBody(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	h, pattern := s.mux.Handler(r)
	if pattern != "" {
		s.mux.ServeHTTP(w, r) // sets the path values Handler does not
		return
	}
	rec := &statusRecorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	if allow := rec.header.Get("Allow"); allow != "" {
		w.Header().Set("Allow", allow)
	}
	msg := "no such route: " + r.URL.Path
	if rec.status == http.StatusMethodNotAllowed {
		msg = r.URL.Path + " does not take " + r.Method
	}
	s.writeError(w, r, &Error{Status: rec.status, Msg: msg})
}

// statusRecorder keeps the status and headers of ServeMux's own 404 and
// 405 answers, so that they can be given as JSON.
type statusRecorder struct {
	header http.Header
	status int
}

func (r *statusRecorder) Header() http.Header         { return r.header }
func (r *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *statusRecorder) WriteHeader(status int)      { r.status = status }

// NewHTTPServer returns an http.Server for h with explicit timeouts: slow
// or idle clients cannot hold connections open for ever.
func NewHTTPServer(addr string, h http.Handler, log *slog.Logger) *http.Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		// The posture export of a large estate takes a while to write.
		WriteTimeout:   2 * time.Minute,
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
}

// index says what the server is and where its API is, so that the root
// answers 200 rather than 404 (a browser, or a scanner such as tlswarden,
// gets a page with the service's security headers).
func (s *Server) index(w http.ResponseWriter, _ *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]string{"service": "tlswarden", "api": "/api/v1", "health": "/healthz"})
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.cfg.Ready(ctx); err != nil {
		s.log.WarnContext(ctx, "not ready", "err", err)
		return &Error{Status: http.StatusServiceUnavailable, Msg: "not ready: the store does not answer"}
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// Error is an error with the status code it is answered with.
type Error struct {
	Status int
	Msg    string
	Field  string
}

func (e *Error) Error() string { return e.Msg }

// errorStatus maps the store's errors to status codes: the one table.
var errorStatus = []struct {
	err    error
	status int
}{
	{store.ErrNotFound, http.StatusNotFound},
	{store.ErrConflict, http.StatusConflict},
	{store.ErrInvalid, http.StatusBadRequest},
}

// statusFor returns the status code an error is answered with.
func statusFor(err error) int {
	var (
		e   *Error
		big *http.MaxBytesError
	)
	switch {
	case errors.As(err, &e):
		return e.Status
	case errors.As(err, &big):
		return http.StatusRequestEntityTooLarge
	}
	for _, m := range errorStatus {
		if errors.Is(err, m.err) {
			return m.status
		}
	}
	return http.StatusInternalServerError
}

// errorBody is how every error is answered.
type errorBody struct {
	Error string `json:"error"`
	// Field names the input field at fault, when one is.
	Field string `json:"field,omitempty"`
	// Rows lists each bad row of an import.
	Rows []rowError `json:"rows,omitempty"`
}

type rowError struct {
	Row   int    `json:"row"` // from 1
	Field string `json:"field,omitempty"`
	Error string `json:"error"`
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := statusFor(err)
	body := errorBody{Error: err.Error()}
	var (
		e  *Error
		ve *store.ValidationError
	)
	switch {
	case status >= 500 && !errors.As(err, &e):
		s.logFailure(r, err)
		body.Error = "internal error"
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			body.Error = "the request was cancelled or timed out"
			status = http.StatusServiceUnavailable
		}
	case errors.As(err, &e):
		body.Field = e.Field
	case errors.As(err, &ve):
		body.Error, body.Field = ve.Msg, ve.Field
	}
	body.Rows = rowErrors(err)
	if len(body.Rows) > 0 {
		body.Error = fmt.Sprintf("%d rows are invalid; nothing was imported", len(body.Rows))
	}
	_ = writeJSON(w, status, body)
}

// logFailure logs a request that failed on the server's side: at error
// level, except when the client went away first, which anyone can do at
// will and which says nothing about the server.
func (s *Server) logFailure(r *http.Request, err error) {
	level := slog.LevelError
	if r.Context().Err() != nil && errors.Is(err, context.Canceled) {
		level = slog.LevelDebug
	}
	s.log.Log(r.Context(), level, "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
}

// rowErrors lists the *store.RowError values joined in err.
func rowErrors(err error) []rowError {
	var out []rowError
	var walk func(error)
	walk = func(err error) {
		if re, ok := err.(*store.RowError); ok {
			r := rowError{Row: re.Index + 1, Error: re.Err.Error()}
			var ve *store.ValidationError
			if errors.As(re.Err, &ve) {
				r.Field, r.Error = ve.Field, ve.Msg
			}
			out = append(out, r)
			return
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeJSONList answers 200 with {key: items}, byte for byte as writeJSON
// would, but encodes and writes one item at a time: a list of many
// thousand targets is never held encoded in memory whole, and the client
// starts reading at once.
func writeJSONList[T any](w http.ResponseWriter, key string, items []T) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if len(items) == 0 {
		_, err := io.WriteString(w, "{\n  \""+key+"\": []\n}\n")
		return err
	}
	bw := bufio.NewWriterSize(w, 32<<10)
	bw.WriteString("{\n  \"" + key + "\": [\n    ")
	for i, it := range items {
		b, err := json.MarshalIndent(it, "    ", "  ")
		if err != nil {
			return err
		}
		if i > 0 {
			bw.WriteString(",\n    ")
		}
		bw.Write(b)
	}
	bw.WriteString("\n  ]\n}\n")
	return bw.Flush()
}

// readJSON decodes a request body into v, refusing unknown fields and
// trailing data.
func readJSON(r *http.Request, v any) error { return decodeJSON(r, v, false) }

// readOptionalJSON is readJSON for a body that may be empty.
func readOptionalJSON(r *http.Request, v any) error { return decodeJSON(r, v, true) }

func decodeJSON(r *http.Request, v any, optional bool) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var big *http.MaxBytesError
		if errors.As(err, &big) {
			return err
		}
		if errors.Is(err, io.EOF) && optional {
			return nil
		}
		if errors.Is(err, io.EOF) {
			return &Error{Status: http.StatusBadRequest, Msg: "request body is empty; want a JSON object"}
		}
		return &Error{Status: http.StatusBadRequest, Msg: "request body is not valid JSON: " + err.Error()}
	}
	if dec.More() {
		return &Error{Status: http.StatusBadRequest, Msg: "request body has data after the JSON value"}
	}
	return nil
}
