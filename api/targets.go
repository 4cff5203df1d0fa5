package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/store"
)

// targetInput is a target as a client writes it. On create, Port defaults
// to 443 and Enabled and Intrusive to true; on update, absent fields keep
// their value.
type targetInput struct {
	Host     *string         `json:"host"`
	Port     *int            `json:"port"`
	Kind     *tlswarden.Kind `json:"kind"`
	Owner    *string         `json:"owner"`
	Tags     *[]string       `json:"tags"`
	Enabled  *bool           `json:"enabled"`
	Schedule *string         `json:"schedule"`
	// Intrusive false exempts the target from the intrusive weakness
	// checks.
	Intrusive *bool `json:"intrusive"`
}

// apply writes the fields the input has over t.
func (in targetInput) apply(t store.Target) store.Target {
	if in.Host != nil {
		t.Host = *in.Host
	}
	if in.Port != nil {
		t.Port = *in.Port
	}
	if in.Kind != nil {
		t.Kind = *in.Kind
	}
	if in.Owner != nil {
		t.Owner = *in.Owner
	}
	if in.Tags != nil {
		t.Tags = *in.Tags
	}
	if in.Enabled != nil {
		t.Enabled = *in.Enabled
	}
	if in.Schedule != nil {
		t.Schedule = *in.Schedule
	}
	if in.Intrusive != nil {
		t.Intrusive = *in.Intrusive
	}
	return t
}

// settle reads a host written as KIND://HOST[:PORT] into host, port and
// kind, which must then agree with any port and kind given beside it (a
// 400 otherwise). On create (inferPort), a host without a scheme whose
// port is a kind's well-known one gets that kind unless one is given. It
// returns how the kind was chosen.
func (in targetInput) settle(inferPort bool) (targetInput, tlswarden.KindSource, error) {
	if in.Kind != nil {
		k, err := tlswarden.ParseKind(string(*in.Kind))
		if err != nil {
			return in, "", &Error{Status: http.StatusBadRequest, Field: "kind", Msg: "kind: " + err.Error()}
		}
		in.Kind = &k
	}
	if in.Host != nil && strings.Contains(*in.Host, "://") {
		return in.settleURL()
	}
	if in.Kind != nil || !inferPort || in.Port == nil {
		return in, "", nil
	}
	if k, ok := tlswarden.KindOfPort(*in.Port); ok {
		in.Kind = &k
		return in, tlswarden.KindFromPort, nil
	}
	return in, "", nil
}

func (in targetInput) settleURL() (targetInput, tlswarden.KindSource, error) {
	t, _, err := tlswarden.ParseTargetSpec(*in.Host, tlswarden.DefaultPort)
	if err != nil {
		return in, "", &Error{Status: http.StatusBadRequest, Field: "host", Msg: "host: " + err.Error()}
	}
	if in.Kind != nil && *in.Kind != t.Kind {
		return in, "", &Error{Status: http.StatusBadRequest, Field: "kind",
			Msg: fmt.Sprintf("kind: %s, but host %q names kind %s", *in.Kind, *in.Host, t.Kind)}
	}
	if in.Port != nil && *in.Port != t.Port {
		return in, "", &Error{Status: http.StatusBadRequest, Field: "port",
			Msg: fmt.Sprintf("port: %d, but host %q names port %d", *in.Port, *in.Host, t.Port)}
	}
	in.Host, in.Port, in.Kind = &t.Host, &t.Port, &t.Kind
	return in, tlswarden.KindFromScheme, nil
}

// createdTarget is a created target, saying how its kind was chosen when
// the request did not name it: "port" when a well-known port chose it.
type createdTarget struct {
	store.Target
	KindSource tlswarden.KindSource `json:"kind_source,omitempty"`
}

// newTarget is a target before create: port 443, enabled.
func newTarget() store.Target {
	return store.Target{Target: tlswarden.Target{Port: tlswarden.DefaultPort}, Enabled: true, Intrusive: true}
}

func (s *Server) listTargets(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	f := store.TargetFilter{Owner: q.str("owner"), Tag: q.str("tag"), Enabled: q.boolPtr("enabled")}
	if q.err != nil {
		return q.err
	}
	ts, err := s.cfg.Store.ListTargets(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSONList(w, "targets", ts)
}

func (s *Server) createTarget(w http.ResponseWriter, r *http.Request) error {
	var in targetInput
	if err := readJSON(r, &in); err != nil {
		return err
	}
	if in.Host == nil {
		return &Error{Status: http.StatusBadRequest, Field: "host", Msg: "host: required"}
	}
	in, src, err := in.settle(true)
	if err != nil {
		return err
	}
	want := in.apply(newTarget())
	if err := s.inScope(want.Host); err != nil {
		return err
	}
	t, err := s.cfg.Store.CreateTarget(r.Context(), want)
	if err != nil {
		return s.conflict(r, want, err)
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/targets/%d", t.ID))
	if src != tlswarden.KindFromPort {
		src = ""
	}
	return writeJSON(w, http.StatusCreated, createdTarget{Target: t, KindSource: src})
}

// importTargets adds or updates every target of a JSON array in one
// transaction, as `tlswarden targets import` does from YAML.
func (s *Server) importTargets(w http.ResponseWriter, r *http.Request) error {
	var in []targetInput
	if err := readJSON(r, &in); err != nil {
		return err
	}
	rows := make([]store.Target, len(in))
	var errs []error
	for i, row := range in {
		if row.Host == nil {
			errs = append(errs, &store.RowError{Index: i, Err: &store.ValidationError{Field: "host", Msg: "required"}})
		}
		row, _, err := row.settle(true)
		var ae *Error
		if errors.As(err, &ae) {
			errs = append(errs, &store.RowError{Index: i, Err: &store.ValidationError{Field: ae.Field, Msg: ae.Msg}})
		}
		rows[i] = row.apply(newTarget())
		var se *Error
		if err := s.inScope(rows[i].Host); errors.As(err, &se) {
			errs = append(errs, &store.RowError{Index: i, Err: &store.ValidationError{Field: se.Field, Msg: se.Msg}})
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("import: %w", errors.Join(append(errs, store.ErrInvalid)...))
	}
	res, err := s.cfg.Store.ImportTargets(r.Context(), rows)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

// targetStatus is a target with how its latest scan went.
type targetStatus struct {
	store.Target
	LatestScan *store.Scan             `json:"latest_scan,omitempty"`
	Endpoints  []store.EndpointSummary `json:"endpoints"`
}

func (s *Server) getTarget(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ctx := r.Context()
	t, err := s.cfg.Store.GetTarget(ctx, id)
	if err != nil {
		return err
	}
	out := targetStatus{Target: t, Endpoints: []store.EndpointSummary{}}
	if t.LatestScanID == 0 {
		return writeJSON(w, http.StatusOK, out)
	}
	sc, err := s.cfg.Store.GetScan(ctx, t.LatestScanID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err == nil {
		out.LatestScan = &sc
		eps, err := s.cfg.Store.ListEndpoints(ctx, store.EndpointFilter{ScanID: sc.ID})
		if err != nil {
			return err
		}
		out.Endpoints = nonNil(eps)
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) updateTarget(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in targetInput
	if err := readJSON(r, &in); err != nil {
		return err
	}
	in, _, err = in.settle(false)
	if err != nil {
		return err
	}
	t, err := s.cfg.Store.GetTarget(r.Context(), id)
	if err != nil {
		return err
	}
	want := in.apply(t)
	if err := s.inScope(want.Host); err != nil {
		return err
	}
	t, err = s.cfg.Store.UpdateTarget(r.Context(), want)
	if err != nil {
		return s.conflict(r, want, err)
	}
	return writeJSON(w, http.StatusOK, t)
}

func (s *Server) deleteTarget(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.cfg.Store.DeleteTarget(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// conflict turns a write's ErrConflict into a 409 that names the target
// already registered under t's kind, host and port, in the same words on every
// store (whose own messages quote their constraints); other errors are
// returned as they are.
func (s *Server) conflict(r *http.Request, t store.Target, err error) error {
	if !errors.Is(err, store.ErrConflict) {
		return err
	}
	n, nerr := t.Normalize()
	if nerr != nil {
		return err
	}
	msg := "a target " + n.Target.URL() + " already exists"
	if other, ferr := s.cfg.Store.FindTarget(r.Context(), n.Kind, n.Host, n.Port); ferr == nil {
		msg += fmt.Sprintf(" (id %d)", other.ID)
	}
	return &Error{Status: http.StatusConflict, Field: "host", Msg: msg}
}

// nonNil makes an empty list encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// inScope refuses a host that is an IP literal outside the configured
// scope: such a target could never be scanned, and registering it would
// only show that the registry accepts internal addresses.
func (s *Server) inScope(host string) error {
	a, err := netip.ParseAddr(host)
	if s.cfg.Scope == nil || err != nil {
		return nil
	}
	if err := s.cfg.Scope.Check(a.Unmap()); err != nil {
		return &Error{Status: http.StatusBadRequest, Field: "host", Msg: "host: out of scope: " + err.Error()}
	}
	return nil
}
