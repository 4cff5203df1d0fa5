package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/tlswarden/tlswarden/store"
)

// Waivers runs the life of waiver records; *waivers.Service is one.
type Waivers interface {
	Request(ctx context.Context, w store.Waiver) (store.Waiver, error)
	Approve(ctx context.Context, id int64, by, key string) (store.Waiver, error)
	Revoke(ctx context.Context, id int64, by string) (store.Waiver, error)
	Store() store.WaiverStore
}

// waiverJSON is a waiver as the API shows it, with its state now.
type waiverJSON struct {
	store.Waiver
	State store.WaiverState `json:"state"`
}

// waiverBody is what a client sends to request a waiver.
type waiverBody struct {
	TargetID int64  `json:"target_id"`
	Owner    string `json:"owner"`
	Tag      string `json:"tag"`
	Rule     string `json:"rule"`
	Reason   string `json:"reason"`
	// Expires is the last day the waiver holds: YYYY-MM-DD.
	Expires string `json:"expires"`
}

func (s *Server) waiverService() (Waivers, error) {
	if s.cfg.Waivers == nil {
		return nil, &Error{Status: http.StatusServiceUnavailable, Msg: "this server keeps no waivers"}
	}
	return s.cfg.Waivers, nil
}

// actor names who makes a request, for the audit log: the token's name,
// and its ID as the key that tells requester from approver.
func (s *Server) actor(r *http.Request) (name, key string) {
	tok, err := s.authenticate(r)
	if err != nil {
		return "anonymous (open writes)", "anonymous"
	}
	return tok.Name + " (" + tok.Prefix + "…)", "token:" + strconv.FormatInt(tok.ID, 10)
}

func (s *Server) listWaivers(w http.ResponseWriter, r *http.Request) error {
	ws, err := s.waiverService()
	if err != nil {
		return err
	}
	q := newQuery(r)
	f := store.WaiverFilter{TargetID: q.id("target_id")}
	if q.err != nil {
		return q.err
	}
	list, err := ws.Store().ListWaivers(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]waiverJSON, 0, len(list))
	for _, wv := range list {
		out = append(out, waiverJSON{wv, wv.State(s.cfg.Now())})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"waivers": out})
}

func (s *Server) requestWaiver(w http.ResponseWriter, r *http.Request) error {
	ws, err := s.waiverService()
	if err != nil {
		return err
	}
	var body waiverBody
	if err := readJSON(r, &body); err != nil {
		return err
	}
	expires, err := time.Parse("2006-01-02", body.Expires)
	if err != nil {
		return &Error{Status: http.StatusBadRequest, Field: "expires", Msg: "expires: want the last day the waiver holds, YYYY-MM-DD"}
	}
	name, key := s.actor(r)
	wv, err := ws.Request(r.Context(), store.Waiver{TargetID: body.TargetID, Owner: body.Owner, Tag: body.Tag, Rule: body.Rule,
		Reason: body.Reason, Expires: expires, RequestedBy: name, RequesterKey: key})
	if err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/waivers/%d", wv.ID))
	return writeJSON(w, http.StatusCreated, waiverJSON{wv, wv.State(s.cfg.Now())})
}

func (s *Server) getWaiver(w http.ResponseWriter, r *http.Request) error {
	ws, err := s.waiverService()
	if err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	wv, err := ws.Store().GetWaiver(r.Context(), id)
	if err != nil {
		return err
	}
	log, err := ws.Store().ListWaiverAudit(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"waiver": waiverJSON{wv, wv.State(s.cfg.Now())}, "audit": nonNil(log)})
}

func (s *Server) approveWaiver(w http.ResponseWriter, r *http.Request) error {
	return s.changeWaiver(w, r, func(ws Waivers, id int64, name, key string) (store.Waiver, error) {
		return ws.Approve(r.Context(), id, name, key)
	})
}

func (s *Server) revokeWaiver(w http.ResponseWriter, r *http.Request) error {
	return s.changeWaiver(w, r, func(ws Waivers, id int64, name, _ string) (store.Waiver, error) {
		return ws.Revoke(r.Context(), id, name)
	})
}

func (s *Server) changeWaiver(w http.ResponseWriter, r *http.Request, fn func(Waivers, int64, string, string) (store.Waiver, error)) error {
	ws, err := s.waiverService()
	if err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := readOptionalJSON(r, &struct{}{}); err != nil {
		return err
	}
	name, key := s.actor(r)
	wv, err := fn(ws, id, name, key)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, waiverJSON{wv, wv.State(s.cfg.Now())})
}

func (s *Server) listWaiverAudit(w http.ResponseWriter, r *http.Request) error {
	ws, err := s.waiverService()
	if err != nil {
		return err
	}
	log, err := ws.Store().ListWaiverAudit(r.Context(), 0)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"audit": nonNil(log)})
}
