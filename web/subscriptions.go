package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/notify"
	"github.com/tlswarden/tlswarden/store"
)

// subscriptionsView is the notifications page: every subscription with
// its receiver redacted, the latest deliveries, and an admin's forms.
type subscriptionsView struct {
	Subscriptions []subscriptionItem
	Deliveries    []deliveryItem
	Admin         bool
	Error, Notice string
	CSRF          string
}

func (v *subscriptionsView) title() string   { return "Notifications" }
func (v *subscriptionsView) jsonURL() string { return "/api/v1/subscriptions" }

type subscriptionItem struct {
	ID                                    int64
	Name, Scope, Channel, Receiver, Sends string
	Disabled                              bool
}

type deliveryItem struct {
	ID, SubscriptionID int64
	Status, Summary    string
	Attempts           int
	Created, Sent      time.Time
	LastError          string
}

// recentDeliveries is how many deliveries the page lists.
const recentDeliveries = 30

func (s *Server) subscriptionStore() (store.SubscriptionStore, error) {
	ss, ok := s.cfg.Store.(store.SubscriptionStore)
	if !ok {
		return nil, &pageError{status: http.StatusNotFound, msg: "This server keeps no subscriptions."}
	}
	return ss, nil
}

func (s *Server) subscriptionsPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderSubscriptions(w, r, http.StatusOK, "", "")
}

func (s *Server) renderSubscriptions(w http.ResponseWriter, r *http.Request, status int, errMsg, notice string) error {
	ss, err := s.subscriptionStore()
	if err != nil {
		return err
	}
	subs, err := ss.ListSubscriptions(r.Context())
	if err != nil {
		return err
	}
	ds, err := ss.ListDeliveries(r.Context(), store.DeliveryFilter{Limit: recentDeliveries})
	if err != nil {
		return err
	}
	tok, signed := session(r)
	v := &subscriptionsView{Admin: signed && tok.Role == store.RoleAdmin, Error: errMsg, Notice: notice, CSRF: csrfToken(r)}
	for _, sub := range subs {
		v.Subscriptions = append(v.Subscriptions, subscriptionItem{ID: sub.ID, Name: sub.Name, Scope: sub.Scope(),
			Channel: sub.Channel, Receiver: notify.RedactURL(sub.URL), Sends: sends(sub), Disabled: sub.Disabled})
	}
	for _, d := range ds {
		v.Deliveries = append(v.Deliveries, deliveryItem{ID: d.ID, SubscriptionID: d.SubscriptionID, Status: string(d.Status),
			Summary: digestSummary(d), Attempts: d.Attempts, Created: d.CreatedAt, Sent: d.SentAt, LastError: d.LastError})
	}
	s.render(w, r, status, "subscriptions", v)
	return nil
}

// digestSummary reads a stored digest's one-sentence summary.
func digestSummary(d store.Delivery) string {
	var dg struct {
		Summary string `json:"summary"`
	}
	if err := json.Unmarshal(d.Digest, &dg); err != nil || dg.Summary == "" {
		return fmt.Sprintf("%d items", len(d.Items))
	}
	return dg.Summary
}

// sends says in a few words what a subscription is sent.
func sends(s store.Subscription) string {
	var parts []string
	if s.Regressions {
		r := "regressions"
		if s.MinSeverity > 0 {
			r += " (" + s.MinSeverity.String() + " and above)"
		}
		parts = append(parts, r)
	}
	if s.Fixes {
		parts = append(parts, "fixes")
	}
	if s.ExpiryDays > 0 {
		parts = append(parts, fmt.Sprintf("certificates expiring within %d days", s.ExpiryDays))
	}
	return strings.Join(parts, ", ")
}

// subscriptionAction checks a subscription form: the CSRF token and an
// admin sign-in.
func (s *Server) subscriptionAction(r *http.Request) (store.Token, store.SubscriptionStore, error) {
	if err := checkCSRF(r); err != nil {
		return store.Token{}, nil, err
	}
	tok, ok := session(r)
	if !ok || tok.Role != store.RoleAdmin {
		return store.Token{}, nil, &pageError{status: http.StatusForbidden, msg: "Managing notifications needs a sign-in with an admin token."}
	}
	ss, err := s.subscriptionStore()
	return tok, ss, err
}

func (s *Server) addSubscription(w http.ResponseWriter, r *http.Request) error {
	tok, ss, err := s.subscriptionAction(r)
	if err != nil {
		return err
	}
	sub := store.Subscription{Name: r.PostFormValue("name"), Channel: r.PostFormValue("channel"), URL: r.PostFormValue("url"),
		Secret: r.PostFormValue("secret"), Regressions: r.PostFormValue("regressions") != "",
		Fixes: r.PostFormValue("fixes") != "", CreatedBy: tokenName(tok)}
	scope := strings.TrimSpace(r.PostFormValue("scope"))
	switch r.PostFormValue("scope_kind") {
	case "owner":
		sub.Owner = scope
	case "tag":
		sub.Tag = scope
	}
	if d := strings.TrimSpace(r.PostFormValue("expiry_days")); d != "" {
		if sub.ExpiryDays, err = strconv.Atoi(d); err != nil {
			return s.renderSubscriptions(w, r, http.StatusBadRequest, "Certificates expiring within: give a number of days.", "")
		}
	}
	if sev := r.PostFormValue("min_severity"); sev != "" {
		if sub.MinSeverity, err = tlswarden.ParseSeverity(sev); err != nil {
			return s.renderSubscriptions(w, r, http.StatusBadRequest, "Unknown severity.", "")
		}
	}
	if sub, err = ss.CreateSubscription(r.Context(), sub); err != nil {
		return s.subscriptionFormError(w, r, err)
	}
	return s.renderSubscriptions(w, r, http.StatusCreated, "", fmt.Sprintf("Subscription %d added: events from now on are sent to it.", sub.ID))
}

func (s *Server) removeSubscription(w http.ResponseWriter, r *http.Request) error {
	_, ss, err := s.subscriptionAction(r)
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := ss.DeleteSubscription(r.Context(), id); err != nil {
		return s.subscriptionFormError(w, r, err)
	}
	return s.renderSubscriptions(w, r, http.StatusOK, "", fmt.Sprintf("Subscription %d removed.", id))
}

func (s *Server) toggleSubscription(w http.ResponseWriter, r *http.Request) error {
	_, ss, err := s.subscriptionAction(r)
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	disable := r.PostFormValue("disabled") == "true"
	if _, err := ss.SetSubscriptionDisabled(r.Context(), id, disable); err != nil {
		return s.subscriptionFormError(w, r, err)
	}
	done := map[bool]string{true: "disabled", false: "enabled"}[disable]
	return s.renderSubscriptions(w, r, http.StatusOK, "", fmt.Sprintf("Subscription %d %s.", id, done))
}

// subscriptionFormError shows a refused form's reason on the page (the
// store's messages name the field, never the URL or secret); other errors
// become an error page.
func (s *Server) subscriptionFormError(w http.ResponseWriter, r *http.Request, err error) error {
	if errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
		return s.renderSubscriptions(w, r, http.StatusBadRequest, err.Error(), "")
	}
	return err
}
