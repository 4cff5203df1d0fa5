package history

import (
	"fmt"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/store"
)

// Event kinds for the clients a profile requires (its required_clients,
// judged by the clients.required_connect rule): one stops connecting to
// an endpoint (a regression) or connects again.
const (
	EventClientBroken   store.EventKind = "client_broken"
	EventClientRestored store.EventKind = "client_restored"
)

// clientAnswers maps each required client's ID to its answer on one
// endpoint, or over a whole scan for endpoints new in the next one (a
// client connects to the scan when it connected to any endpoint).
type clientAnswers map[string]tlswarden.ClientResult

// compareClients adds an event for each client the current scan's
// profile requires whose answer changed between the scans, per endpoint
// (by hostname and address; a new endpoint is compared with the whole
// previous scan). Only the current profile's clients that apply to the
// target's kind count: a client that joins the list failing gives no
// event, and the rule's finding says it.
func (c *changes) compareClients(prev, cur *store.ScanResult) {
	if cur.Evaluation == nil || len(cur.Evaluation.Profile.RequiredClients) == 0 {
		return
	}
	required := cur.Evaluation.Profile.RequiredClients
	kind := cur.Report.Target.Kind
	before := map[string]clientAnswers{}
	baseline := clientAnswers{}
	for i := range prev.Report.Endpoints {
		ep := &prev.Report.Endpoints[i]
		answers := requiredAnswers(ep.Clients, required, kind)
		before[ep.Endpoint.String()] = answers
		for id, a := range answers {
			if b, ok := baseline[id]; !ok || a.Connects && !b.Connects {
				baseline[id] = a
			}
		}
	}
	for i := range cur.Report.Endpoints {
		ep := &cur.Report.Endpoints[i]
		was, ok := before[ep.Endpoint.String()]
		if !ok {
			was = baseline
		}
		now := requiredAnswers(ep.Clients, required, kind)
		for _, id := range required {
			c.compareClient(ep.Endpoint.String(), was, now, id)
		}
	}
}

// requiredAnswers keeps the required clients that apply to the target's
// kind (a browser is no concern of an SMTP server, as the rule says).
func requiredAnswers(cr *tlswarden.ClientsResult, required []string, kind tlswarden.Kind) clientAnswers {
	out := clientAnswers{}
	for _, id := range required {
		if a := cr.Client(id); a != nil && a.AppliesTo(kind) {
			out[id] = *a
		}
	}
	return out
}

func (c *changes) compareClient(endpoint string, was, now clientAnswers, id string) {
	before, known := was[id]
	after, knownNow := now[id]
	switch {
	case !known || !knownNow || before.Connects == after.Connects:
	case !after.Connects:
		why := orText(after.Detail, after.Reason)
		c.add(endpoint, change{kind: EventClientBroken, key: id, regression: true,
			details: Details{Summary: fmt.Sprintf("%s no longer connects (%s)", after.Name, why),
				Client: id, ClientName: after.Name, Reason: after.Reason, Message: why}})
	default:
		c.add(endpoint, change{kind: EventClientRestored, key: id,
			details: Details{Summary: fmt.Sprintf("%s connects again with %s", after.Name, negotiated(after)),
				Client: id, ClientName: after.Name, Version: after.Version, Message: negotiated(after)}})
	}
}

// negotiated says what a client negotiates: "TLSv1.2
// TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".
func negotiated(a tlswarden.ClientResult) string {
	s := a.Version.String()
	if a.Suite != nil {
		s += " " + a.Suite.Name
	}
	return s
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
