package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/tlswarden/tlswarden/internal/testdb"
	"github.com/tlswarden/tlswarden/store"
)

type subscriptionOut struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	Owner     string `json:"owner"`
	Channel   string `json:"channel"`
	Receiver  string `json:"receiver"`
	HasSecret bool   `json:"has_secret"`
	Disabled  bool   `json:"disabled"`
	Fixes     bool   `json:"fixes"`
	Regress   bool   `json:"regressions"`
	MinSev    string `json:"min_severity"`
	URL       string `json:"url"`
	Secret    string `json:"secret"`
}

func TestSubscriptions(t *testing.T) {
	for _, name := range testdb.Names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, name, false)
			const url = "https://hooks.example.com/services/T0/B0/SECRETTOKEN"
			const secret = "signing-secret-0123456789"
			var s subscriptionOut
			e.want("POST", "/api/v1/subscriptions", map[string]any{"name": "web", "owner": "web", "channel": "webhook",
				"url": url, "secret": secret, "min_severity": "high"}, http.StatusCreated, &s)
			if s.ID == 0 || s.Receiver != "https://hooks.example.com/…" || !s.HasSecret || !s.Regress || s.Fixes || s.MinSev != "high" {
				t.Errorf("created: %+v", s)
			}
			var eb errorBody
			e.want("POST", "/api/v1/subscriptions", map[string]any{"name": "x", "channel": "webhook", "url": url}, http.StatusBadRequest, &eb)
			if eb.Field != "secret" {
				t.Errorf("webhook without a secret: %+v", eb)
			}
			e.want("POST", "/api/v1/subscriptions", map[string]any{"name": "x", "channel": "pager", "url": url}, http.StatusBadRequest, &eb)
			e.want("POST", "/api/v1/subscriptions", map[string]any{"name": "x", "channel": "slack", "url": "ftp://" + secret}, http.StatusBadRequest, &eb)
			if strings.Contains(eb.Error, secret) {
				t.Errorf("the error quotes the URL: %+v", eb)
			}

			reader := createToken(t, e.st, "reader", store.RoleRead)
			admin := e.token
			e.token = reader
			e.want("POST", "/api/v1/subscriptions", map[string]any{"name": "x", "channel": "slack", "url": url}, http.StatusForbidden, nil)
			path := fmt.Sprintf("/api/v1/subscriptions/%d", s.ID)
			e.want("DELETE", path, nil, http.StatusForbidden, nil)
			e.token = admin

			e.want("PATCH", path, map[string]any{"disabled": true}, http.StatusOK, &s)
			if !s.Disabled {
				t.Errorf("disabled: %+v", s)
			}
			e.want("PATCH", path, map[string]any{}, http.StatusBadRequest, nil)
			for _, p := range []string{"/api/v1/subscriptions", path} {
				_, data := e.call("GET", p, nil)
				if strings.Contains(string(data), "SECRETTOKEN") || strings.Contains(string(data), secret) {
					t.Errorf("GET %s shows a credential: %s", p, data)
				}
			}
			var ds struct{ Deliveries []store.Delivery }
			e.want("GET", fmt.Sprintf("/api/v1/deliveries?subscription_id=%d", s.ID), nil, http.StatusOK, &ds)
			if ds.Deliveries == nil || len(ds.Deliveries) != 0 {
				t.Errorf("deliveries: %+v", ds)
			}
			e.want("GET", "/api/v1/deliveries?status=lost", nil, http.StatusBadRequest, nil)
			e.want("DELETE", path, nil, http.StatusNoContent, nil)
			e.want("GET", path, nil, http.StatusNotFound, nil)
		})
	}
}
