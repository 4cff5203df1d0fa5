package api

import (
	"fmt"
	"net/http"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/notify"
	"github.com/tlswarden/tlswarden/store"
)

// subscriptionJSON is a subscription as the API shows it: its receiver's
// URL reduced to scheme and host, its secret left out (store.Subscription
// never marshals either).
type subscriptionJSON struct {
	store.Subscription
	Receiver string `json:"receiver"`
	// HasSecret says a webhook's payloads are signed.
	HasSecret bool `json:"has_secret,omitempty"`
}

func viewSubscription(s store.Subscription) subscriptionJSON {
	return subscriptionJSON{Subscription: s, Receiver: notify.RedactURL(s.URL), HasSecret: s.Secret != ""}
}

// subscriptionBody is what a client sends to create a subscription. The
// URL and secret are credentials: they are stored, never shown again.
type subscriptionBody struct {
	Name    string `json:"name"`
	Owner   string `json:"owner"`
	Tag     string `json:"tag"`
	Channel string `json:"channel"`
	URL     string `json:"url"`
	Secret  string `json:"secret"`
	// Regressions defaults to true.
	Regressions *bool              `json:"regressions"`
	Fixes       bool               `json:"fixes"`
	ExpiryDays  int                `json:"expiry_days"`
	MinSeverity tlswarden.Severity `json:"min_severity"`
}

func (s *Server) subscriptions() (store.SubscriptionStore, error) {
	ss, ok := s.cfg.Store.(store.SubscriptionStore)
	if !ok {
		return nil, &Error{Status: http.StatusServiceUnavailable, Msg: "this server keeps no subscriptions"}
	}
	return ss, nil
}

func (s *Server) listSubscriptions(w http.ResponseWriter, r *http.Request) error {
	ss, err := s.subscriptions()
	if err != nil {
		return err
	}
	list, err := ss.ListSubscriptions(r.Context())
	if err != nil {
		return err
	}
	out := make([]subscriptionJSON, len(list))
	for i, sub := range list {
		out[i] = viewSubscription(sub)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"subscriptions": out})
}

func (s *Server) createSubscription(w http.ResponseWriter, r *http.Request) error {
	ss, err := s.subscriptions()
	if err != nil {
		return err
	}
	var body subscriptionBody
	if err := readJSON(r, &body); err != nil {
		return err
	}
	name, _ := s.actor(r)
	sub := store.Subscription{Name: body.Name, Owner: body.Owner, Tag: body.Tag, Channel: body.Channel, URL: body.URL,
		Secret: body.Secret, Regressions: body.Regressions == nil || *body.Regressions, Fixes: body.Fixes,
		ExpiryDays: body.ExpiryDays, MinSeverity: body.MinSeverity, CreatedBy: name}
	if sub, err = ss.CreateSubscription(r.Context(), sub); err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/subscriptions/%d", sub.ID))
	return writeJSON(w, http.StatusCreated, viewSubscription(sub))
}

func (s *Server) getSubscription(w http.ResponseWriter, r *http.Request) error {
	ss, err := s.subscriptions()
	if err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	sub, err := ss.GetSubscription(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewSubscription(sub))
}

// updateSubscription enables or disables a subscription; the rest of it
// is changed by removing it and adding another.
func (s *Server) updateSubscription(w http.ResponseWriter, r *http.Request) error {
	ss, err := s.subscriptions()
	if err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var body struct {
		Disabled *bool `json:"disabled"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if body.Disabled == nil {
		return &Error{Status: http.StatusBadRequest, Field: "disabled", Msg: "disabled: required (true or false)"}
	}
	sub, err := ss.SetSubscriptionDisabled(r.Context(), id, *body.Disabled)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewSubscription(sub))
}

func (s *Server) deleteSubscription(w http.ResponseWriter, r *http.Request) error {
	ss, err := s.subscriptions()
	if err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := ss.DeleteSubscription(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) error {
	ss, err := s.subscriptions()
	if err != nil {
		return err
	}
	q := newQuery(r)
	f := store.DeliveryFilter{SubscriptionID: q.id("subscription_id"), Status: store.DeliveryStatus(q.str("status")), Limit: q.limit()}
	switch f.Status {
	case "", store.DeliveryPending, store.DeliverySent, store.DeliveryFailed:
	default:
		q.fail("status", "want pending, sent or failed")
	}
	if q.err != nil {
		return q.err
	}
	list, err := ss.ListDeliveries(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"deliveries": nonNil(list)})
}
