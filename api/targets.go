package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/store"
)

// targetInput is a target as a client writes it. On create, Port defaults
// to 443 and Enabled to true; on update, absent fields keep their value.
type targetInput struct {
	Host     *string         `json:"host"`
	Port     *int            `json:"port"`
	Kind     *tlswarden.Kind `json:"kind"`
	Owner    *string         `json:"owner"`
	Tags     *[]string       `json:"tags"`
	Enabled  *bool           `json:"enabled"`
	Schedule *string         `json:"schedule"`
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
	return t
}

// newTarget is a target before create: port 443, enabled.
func newTarget() store.Target {
	return store.Target{Target: tlswarden.Target{Port: tlswarden.DefaultPort}, Enabled: true}
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
	return writeJSON(w, http.StatusOK, map[string]any{"targets": nonNil(ts)})
}

func (s *Server) createTarget(w http.ResponseWriter, r *http.Request) error {
	var in targetInput
	if err := readJSON(r, &in); err != nil {
		return err
	}
	if in.Host == nil {
		return &Error{Status: http.StatusBadRequest, Field: "host", Msg: "host: required"}
	}
	t, err := s.cfg.Store.CreateTarget(r.Context(), in.apply(newTarget()))
	if err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/targets/%d", t.ID))
	return writeJSON(w, http.StatusCreated, t)
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
		rows[i] = row.apply(newTarget())
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
	t, err := s.cfg.Store.GetTarget(r.Context(), id)
	if err != nil {
		return err
	}
	t, err = s.cfg.Store.UpdateTarget(r.Context(), in.apply(t))
	if err != nil {
		return err
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

// nonNil makes an empty list encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
