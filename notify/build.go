package notify

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/store"
)

// MaxItems bounds the items a digest lists; the rest are counted in
// Omitted (and their keys are still recorded, so they are not sent
// again). A profile change over a large estate gives one digest of this
// size, not thousands of messages.
const MaxItems = 200

// Input is what Build reads for one subscription.
type Input struct {
	Subscription store.Subscription
	// Targets are the estate's targets with their latest scans (the ones
	// the subscription does not cover are skipped).
	Targets []store.ScanState
	// Events are the events recorded since the subscription's cursor.
	Events []store.Event
	// Certs are the leaf certificates the targets' latest scans served.
	Certs []Cert
	// Now is the time the digest is made; BaseURL the service's public
	// URL for links ("" for none).
	Now     time.Time
	BaseURL string
}

// Cert is a leaf certificate a target served in its latest scan.
type Cert struct {
	TargetID int64
	SHA256   string
	NotAfter time.Time
	Endpoint string
}

// Candidates returns the items the subscription is to hear of, in digest
// order (regressions and new targets first, then expiring certificates,
// then fixes), before deduplication: the caller drops the keys the store
// says were sent already.
func Candidates(in Input) []Item {
	sub := in.Subscription
	covered := map[int64]store.ScanState{}
	for _, st := range in.Targets {
		if sub.Covers(st.Target) {
			covered[st.Target.ID] = st
		}
	}
	var items []Item
	for _, ev := range in.Events {
		st, ok := covered[ev.TargetID]
		if !ok {
			continue
		}
		if it, ok := eventItem(sub, ev, st.Target, in.BaseURL); ok {
			items = append(items, it)
		}
	}
	if sub.Regressions {
		for _, st := range in.Targets {
			if _, ok := covered[st.Target.ID]; ok && newTarget(sub, st) {
				items = append(items, newTargetItem(st, in.BaseURL))
			}
		}
	}
	if sub.ExpiryDays > 0 {
		items = append(items, certItems(sub, in, covered)...)
	}
	slices.SortStableFunc(items, func(a, b Item) int { return cmp.Compare(rank(a), rank(b)) })
	return items
}

// rank orders items in a digest.
func rank(it Item) int {
	switch {
	case it.Kind == ItemEvent && it.Regression, it.Kind == ItemNewTarget:
		return 0
	case it.Kind == ItemCertExpiry:
		return 1
	}
	return 2
}

// fixKinds are the events that count as fixes: a change for the better
// that someone would want to hear of (a certificate replaced by a valid
// one is routine, not a fix).
var fixKinds = map[store.EventKind]bool{
	store.EventFindingResolved: true, store.EventVersionRemoved: true, store.EventGradeChanged: true,
	"cert_valid": true, "finding_waived": true,
}

// eventDetails is the part of history.Details a digest shows.
type eventDetails struct {
	Summary   string             `json:"summary"`
	Endpoints []string           `json:"endpoints"`
	Rule      string             `json:"rule"`
	Severity  tlswarden.Severity `json:"severity"`
}

func eventItem(sub store.Subscription, ev store.Event, t store.Target, base string) (Item, bool) {
	if ev.Regression && !sub.Regressions || !ev.Regression && (!sub.Fixes || !fixKinds[ev.Kind]) {
		return Item{}, false
	}
	var d eventDetails
	_ = json.Unmarshal(ev.Details, &d) // details are the store's own JSON; a field missing is shown as absent
	if d.Rule != "" && sub.MinSeverity > 0 && d.Severity < sub.MinSeverity {
		return Item{}, false
	}
	it := Item{
		Kind: ItemEvent, Key: "event:" + strconv.FormatInt(ev.ID, 10), Target: targetRef(t),
		Summary: cmp.Or(d.Summary, string(ev.Kind)), Link: targetLink(base, t.ID), At: ev.At,
		EventID: ev.ID, EventKind: string(ev.Kind), Regression: ev.Regression, Rule: d.Rule,
		Endpoints: d.Endpoints,
	}
	if d.Rule != "" && d.Severity > 0 {
		it.Severity = d.Severity.String()
	}
	return it, true
}

// NewTargetWindow is how soon after a target is added its latest scan
// must have started for the target to count as new: its first scan, in
// practice (the nightly run, or a request), not a regression months later,
// which its events report.
const NewTargetWindow = 48 * time.Hour

// newTarget reports whether st is a target added after the subscription,
// scanned soon after (see NewTargetWindow), whose latest scan is not
// compliant. Its first scan gives no events (there is nothing to compare
// it with), so without this a new service failing the policy would reach
// nobody.
func newTarget(sub store.Subscription, st store.ScanState) bool {
	return st.Latest.ID != 0 && st.Target.CreatedAt.After(sub.CreatedAt) &&
		st.Latest.Started.Sub(st.Target.CreatedAt) < NewTargetWindow &&
		st.Latest.Compliance == tlswarden.NonCompliant
}

func newTargetItem(st store.ScanState, base string) Item {
	return Item{
		Kind: ItemNewTarget, Key: "new:" + strconv.FormatInt(st.Target.ID, 10), Target: targetRef(st.Target),
		Summary: "new target, not compliant with " + cmp.Or(st.Latest.Profile, "the profile"),
		Link:    targetLink(base, st.Target.ID), At: st.Latest.Finished, Compliance: string(st.Latest.Compliance),
	}
}

// certItems returns an item per leaf certificate of a covered target that
// expires within the subscription's window (or has expired), once per
// certificate: its renewal is a new certificate.
func certItems(sub store.Subscription, in Input, covered map[int64]store.ScanState) []Item {
	horizon := in.Now.Add(time.Duration(sub.ExpiryDays) * 24 * time.Hour)
	byKey := map[string]int{}
	var items []Item
	for _, c := range in.Certs {
		st, ok := covered[c.TargetID]
		if !ok || c.SHA256 == "" || c.NotAfter.IsZero() || c.NotAfter.After(horizon) {
			continue
		}
		key := "cert:" + strconv.FormatInt(c.TargetID, 10) + ":" + c.SHA256
		if i, ok := byKey[key]; ok {
			if c.Endpoint != "" && !slices.Contains(items[i].Endpoints, c.Endpoint) {
				items[i].Endpoints = append(items[i].Endpoints, c.Endpoint)
			}
			continue
		}
		byKey[key] = len(items)
		it := Item{
			Kind: ItemCertExpiry, Key: key, Target: targetRef(st.Target), Summary: expirySummary(c.NotAfter, in.Now),
			Link: targetLink(in.BaseURL, c.TargetID), At: in.Now, NotAfter: c.NotAfter, LeafSHA256: c.SHA256,
		}
		if c.Endpoint != "" {
			it.Endpoints = []string{c.Endpoint}
		}
		items = append(items, it)
	}
	slices.SortStableFunc(items, func(a, b Item) int { return a.NotAfter.Compare(b.NotAfter) })
	return items
}

func expirySummary(notAfter, now time.Time) string {
	day := notAfter.UTC().Format("2006-01-02")
	if !notAfter.After(now) {
		return "certificate expired on " + day
	}
	days := int(notAfter.Sub(now).Hours() / 24)
	switch days {
	case 0:
		return "certificate expires within a day (" + day + ")"
	case 1:
		return "certificate expires in 1 day (" + day + ")"
	}
	return fmt.Sprintf("certificate expires in %d days (%s)", days, day)
}

func targetRef(t store.Target) TargetRef {
	return TargetRef{ID: t.ID, Name: t.Target.String(), Owner: t.Owner, Tags: t.Tags}
}

func targetLink(base string, id int64) string {
	if base == "" {
		return ""
	}
	return strings.TrimRight(base, "/") + "/targets/" + strconv.FormatInt(id, 10)
}

// Build returns the digest of items (already deduplicated) for sub:
// counted, summarised, and cut to MaxItems.
func Build(sub store.Subscription, items []Item, now time.Time, base string) Digest {
	d := Digest{
		Schema:       Schema,
		Subscription: SubscriptionRef{ID: sub.ID, Name: sub.Name, Scope: sub.Scope()},
		GeneratedAt:  store.Timestamp(now),
		Items:        items,
	}
	for _, it := range items {
		switch {
		case it.Kind == ItemEvent && it.Regression:
			d.Counts.Regressions++
		case it.Kind == ItemEvent:
			d.Counts.Fixes++
		case it.Kind == ItemCertExpiry:
			d.Counts.ExpiringCertificates++
		case it.Kind == ItemNewTarget:
			d.Counts.NewTargets++
		}
	}
	if len(d.Items) > MaxItems {
		d.Omitted = len(d.Items) - MaxItems
		d.Items = d.Items[:MaxItems:MaxItems]
	}
	if d.Items == nil {
		d.Items = []Item{}
	}
	d.Summary = Summarize(d.Counts)
	if base != "" {
		d.Link = strings.TrimRight(base, "/") + "/"
	}
	return d
}
