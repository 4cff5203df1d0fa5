package api_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/api"
	"github.com/tlswarden/tlswarden/internal/testdb"
	"github.com/tlswarden/tlswarden/store"
	"github.com/tlswarden/tlswarden/waivers"
)

type waiverOut struct {
	store.Waiver
	State store.WaiverState `json:"state"`
}

func TestWaivers(t *testing.T) {
	for _, name := range testdb.Names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnvWith(t, name, false, func(c *api.Config) {
				svc, err := waivers.New(waivers.Config{Store: c.Store})
				if err != nil {
					t.Fatal(err)
				}
				c.Waivers = svc
			})
			sc := storeLegacyScan(t, e.st)
			alice := e.token
			bob := createToken(t, e.st, "bob", store.RoleAdmin)
			reader := createToken(t, e.st, "reader", store.RoleRead)
			expires := time.Now().AddDate(0, 0, 30).Format("2006-01-02")

			var w waiverOut
			e.want("POST", "/api/v1/waivers", map[string]any{"target_id": sc.TargetID, "rule": "tls.version.min", "reason": "vendor appliance", "expires": expires}, http.StatusCreated, &w)
			if w.State != store.WaiverRequested || w.RequestedBy == "" {
				t.Errorf("requested: %+v", w)
			}
			var eb errorBody
			e.want("POST", "/api/v1/waivers", map[string]any{"owner": "x", "rule": "tls.version.min", "reason": "r", "expires": "soon"}, http.StatusBadRequest, &eb)
			if eb.Field != "expires" {
				t.Errorf("bad expiry: %+v", eb)
			}
			e.want("POST", "/api/v1/waivers", map[string]any{"rule": "tls.version.min", "reason": "r", "expires": expires}, http.StatusBadRequest, &eb)
			path := fmt.Sprintf("/api/v1/waivers/%d", w.ID)
			e.want("POST", path+"/approve", nil, http.StatusBadRequest, &eb)
			if eb.Field != "approved_by" {
				t.Errorf("self-approval: %+v", eb)
			}
			e.token = reader
			e.want("POST", path+"/approve", nil, http.StatusForbidden, nil)
			e.token = bob
			e.want("POST", path+"/approve", nil, http.StatusOK, &w)
			if w.State != store.WaiverActive || w.ApprovedBy == "" || w.ApprovedBy == w.RequestedBy {
				t.Errorf("approved: %+v", w)
			}
			e.want("POST", path+"/approve", nil, http.StatusConflict, nil)

			// The latest scan was judged again: the finding is waived.
			var fs struct{ Findings []store.EstateFinding }
			e.want("GET", "/api/v1/findings?rule=tls.version.min&waived=true", nil, http.StatusOK, &fs)
			if len(fs.Findings) != 1 || fs.Findings[0].ScanID == sc.ID || fs.Findings[0].Waiver == nil {
				t.Errorf("waived findings after approval: %+v", fs.Findings)
			}
			var re struct{ Evaluation tlswarden.Evaluation }
			e.want("GET", fmt.Sprintf("/api/v1/scans/%d/evaluation", sc.ID), nil, http.StatusOK, &re)
			if !findingWaived(re.Evaluation, "tls.version.min") {
				t.Error("re-judging the first scan does not apply the store's waiver")
			}

			e.token = alice
			e.want("POST", path+"/revoke", nil, http.StatusOK, &w)
			if w.State != store.WaiverRevoked {
				t.Errorf("revoked: %+v", w)
			}
			e.want("GET", "/api/v1/findings?rule=tls.version.min&waived=false", nil, http.StatusOK, &fs)
			if len(fs.Findings) != 1 {
				t.Errorf("unwaived findings after revoking: %+v", fs.Findings)
			}
			var got struct {
				Waiver waiverOut
				Audit  []store.WaiverAudit
			}
			e.token = reader
			e.want("GET", path, nil, http.StatusOK, &got)
			if got.Waiver.State != store.WaiverRevoked || len(got.Audit) != 3 || got.Audit[1].Action != store.WaiverActionApproved {
				t.Errorf("waiver and audit: %+v", got)
			}
			var list struct{ Waivers []waiverOut }
			e.want("GET", fmt.Sprintf("/api/v1/waivers?target_id=%d", sc.TargetID), nil, http.StatusOK, &list)
			if len(list.Waivers) != 1 {
				t.Errorf("the target's waivers: %+v", list)
			}
			var audit struct{ Audit []store.WaiverAudit }
			e.want("GET", "/api/v1/waiver-audit", nil, http.StatusOK, &audit)
			if len(audit.Audit) != 3 {
				t.Errorf("audit log: %d entries", len(audit.Audit))
			}
		})
	}
}

func findingWaived(ev tlswarden.Evaluation, rule string) bool {
	for _, ee := range ev.Endpoints {
		for _, f := range ee.Findings {
			if f.RuleID == rule && f.Waived {
				return true
			}
		}
	}
	return false
}
