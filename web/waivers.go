package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
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

// waiversView is the waivers page: every waiver with its state, the
// forms an admin uses, and the audit log.
type waiversView struct {
	Waivers []waiverItem
	Audit   []auditItem
	Admin   bool // signed in with an admin token: the forms are shown
	Rules   []string
	Targets []store.Target
	Error   string
	Notice  string
	CSRF    string
}

func (v *waiversView) title() string   { return "Waivers" }
func (v *waiversView) jsonURL() string { return "/api/v1/waivers" }

type waiverItem struct {
	ID                             int64
	State, Scope, ScopeURL         string
	Rule, Reason, Expires          string
	RequestedBy, ApprovedBy        string
	RevokedBy                      string
	CanApprove, CanRevoke, Pending bool
}

type auditItem struct {
	At                   time.Time
	WaiverID             int64
	Action, Actor, About string
}

func (s *Server) waiversPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderWaivers(w, r, http.StatusOK, "", "")
}

func (s *Server) renderWaivers(w http.ResponseWriter, r *http.Request, status int, errMsg, notice string) error {
	if s.cfg.Waivers == nil {
		return &pageError{status: http.StatusNotFound, msg: "This server keeps no waivers."}
	}
	ctx := r.Context()
	ws, err := s.cfg.Waivers.Store().ListWaivers(ctx, store.WaiverFilter{})
	if err != nil {
		return err
	}
	log, err := s.cfg.Waivers.Store().ListWaiverAudit(ctx, 0)
	if err != nil {
		return err
	}
	targets, err := s.cfg.Store.ListTargets(ctx, store.TargetFilter{})
	if err != nil {
		return err
	}
	tok, signed := session(r)
	v := &waiversView{Admin: signed && tok.Role == store.RoleAdmin, Rules: ruleIDs(), Targets: targets, Error: errMsg, Notice: notice, CSRF: csrfToken(r)}
	now := s.cfg.Now()
	for _, wv := range ws {
		v.Waivers = append(v.Waivers, waiverItemOf(wv, now, tokenKey(tok), v.Admin))
	}
	for i := len(log) - 1; i >= 0; i-- {
		a := log[i]
		v.Audit = append(v.Audit, auditItem{At: a.At, WaiverID: a.WaiverID, Action: string(a.Action), Actor: a.Actor,
			About: a.Waiver.Rule + " on " + a.Waiver.Scope()})
	}
	s.render(w, r, status, "waivers", v)
	return nil
}

func waiverItemOf(w store.Waiver, now time.Time, me string, admin bool) waiverItem {
	st := w.State(now)
	it := waiverItem{ID: w.ID, State: string(st), Scope: w.Scope(), Rule: w.Rule, Reason: w.Reason,
		Expires: w.Expires.Format("2006-01-02"), RequestedBy: w.RequestedBy, ApprovedBy: w.ApprovedBy, RevokedBy: w.RevokedBy,
		Pending: st == store.WaiverRequested}
	switch {
	case w.TargetID != 0:
		it.ScopeURL = fmt.Sprintf("/targets/%d", w.TargetID)
	case w.Owner != "":
		it.ScopeURL = "/?owner=" + w.Owner
	default:
		it.ScopeURL = "/?tag=" + w.Tag
	}
	it.CanApprove = admin && st == store.WaiverRequested && me != w.RequesterKey
	it.CanRevoke = admin && st != store.WaiverRevoked
	return it
}

// tokenKey is how a token is named as requester or approver: as the API
// names it, so that a waiver requested there cannot be approved here by
// the same token.
func tokenKey(t store.Token) string { return "token:" + strconv.FormatInt(t.ID, 10) }

func tokenName(t store.Token) string { return t.Name + " (" + t.Prefix + "…)" }

// adminAction checks a waiver form: the CSRF token and an admin sign-in.
func (s *Server) adminAction(r *http.Request) (store.Token, error) {
	if err := checkCSRF(r); err != nil {
		return store.Token{}, err
	}
	tok, ok := session(r)
	if !ok || tok.Role != store.RoleAdmin {
		return store.Token{}, &pageError{status: http.StatusForbidden, msg: "Managing waivers needs a sign-in with an admin token."}
	}
	if s.cfg.Waivers == nil {
		return store.Token{}, &pageError{status: http.StatusNotFound, msg: "This server keeps no waivers."}
	}
	return tok, nil
}

func (s *Server) requestWaiver(w http.ResponseWriter, r *http.Request) error {
	tok, err := s.adminAction(r)
	if err != nil {
		return err
	}
	wv := store.Waiver{Rule: r.PostFormValue("rule"), Reason: r.PostFormValue("reason"), RequestedBy: tokenName(tok), RequesterKey: tokenKey(tok)}
	scope := strings.TrimSpace(r.PostFormValue("scope"))
	switch r.PostFormValue("scope_kind") {
	case "owner":
		wv.Owner = scope
	case "tag":
		wv.Tag = scope
	default:
		wv.TargetID, _ = strconv.ParseInt(r.PostFormValue("target_id"), 10, 64)
	}
	if wv.Expires, err = time.Parse("2006-01-02", r.PostFormValue("expires")); err != nil {
		return s.renderWaivers(w, r, http.StatusBadRequest, "Expires: give the last day the waiver holds (YYYY-MM-DD).", "")
	}
	if wv, err = s.cfg.Waivers.Request(r.Context(), wv); err != nil {
		return s.formError(w, r, err)
	}
	return s.renderWaivers(w, r, http.StatusCreated, "", fmt.Sprintf("Waiver %d requested: another admin approves it before it applies.", wv.ID))
}

func (s *Server) approveWaiver(w http.ResponseWriter, r *http.Request) error {
	return s.changeWaiver(w, r, "approved", func(tok store.Token, id int64) (store.Waiver, error) {
		return s.cfg.Waivers.Approve(r.Context(), id, tokenName(tok), tokenKey(tok))
	})
}

func (s *Server) revokeWaiver(w http.ResponseWriter, r *http.Request) error {
	return s.changeWaiver(w, r, "revoked", func(tok store.Token, id int64) (store.Waiver, error) {
		return s.cfg.Waivers.Revoke(r.Context(), id, tokenName(tok))
	})
}

func (s *Server) changeWaiver(w http.ResponseWriter, r *http.Request, done string, fn func(store.Token, int64) (store.Waiver, error)) error {
	tok, err := s.adminAction(r)
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := fn(tok, id); err != nil {
		return s.formError(w, r, err)
	}
	return s.renderWaivers(w, r, http.StatusOK, "", fmt.Sprintf("Waiver %d %s; the targets it covers were judged again.", id, done))
}

// formError shows a refused form's reason on the waivers page; other
// errors become an error page.
func (s *Server) formError(w http.ResponseWriter, r *http.Request, err error) error {
	var msg string
	switch {
	case errors.Is(err, store.ErrInvalid), errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotFound):
		msg = err.Error()
	default:
		return err
	}
	return s.renderWaivers(w, r, http.StatusBadRequest, msg, "")
}
