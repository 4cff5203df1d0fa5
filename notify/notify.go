// Package notify turns what changed in the estate into messages and sends
// them to the receivers subscriptions name: a generic JSON webhook signed
// with HMAC-SHA256, a Slack incoming webhook, or a Microsoft Teams channel
// through a Workflows webhook (an Adaptive Card).
//
// A Digest is everything one subscription hears about one scan run: the
// regressions (and, when asked for, the fixes) of the targets it covers,
// the certificates that expire within its window, and the new targets
// whose first scan is not compliant. Digests are built here (Build) and
// sent here (Sender); the River jobs in package jobs decide when, and the
// store records each delivery.
//
// Webhook URLs and secrets are credentials: nothing in this package logs
// them, and every error it returns has them replaced (see RedactURL).
package notify

import (
	"fmt"
	"strings"
	"time"
)

// Schema names the version of the generic JSON payload, documented in
// docs/notifications.md. It changes when a field changes meaning or is
// removed; adding a field keeps it.
const Schema = "tlswarden.notification/v1"

// ItemKind says what a digest item is about.
type ItemKind string

// The kinds of digest items.
const (
	// ItemEvent is a change between two scans of a target (a store event).
	ItemEvent ItemKind = "event"
	// ItemCertExpiry is a certificate served by a target that expires
	// within the subscription's window.
	ItemCertExpiry ItemKind = "certificate_expiry"
	// ItemNewTarget is a target added since the subscription was created
	// whose first scan is not compliant: a first scan has no previous one
	// to compare with, so it gives no events.
	ItemNewTarget ItemKind = "new_target"
)

// Digest is one message to one subscription.
type Digest struct {
	Schema string `json:"schema"`
	// DeliveryID identifies the delivery; a receiver that sees one twice
	// (a retry after a lost response) can drop the second.
	DeliveryID   int64           `json:"delivery_id"`
	Subscription SubscriptionRef `json:"subscription"`
	GeneratedAt  time.Time       `json:"generated_at"`
	// Summary says in one sentence what the digest holds.
	Summary string `json:"summary"`
	Counts  Counts `json:"counts"`
	// Items are the digest's contents, regressions first; at most
	// MaxItems, the rest counted in Omitted.
	Items   []Item `json:"items"`
	Omitted int    `json:"omitted,omitempty"`
	// Link is the estate's page, when the service knows its public URL.
	Link string `json:"link,omitempty"`
	// Test is true on the sample `tlswarden subscriptions test` sends.
	Test bool `json:"test,omitempty"`
}

// SubscriptionRef names the subscription a digest is for.
type SubscriptionRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// Scope is what the subscription covers: "all", "owner NAME" or
	// "tag NAME".
	Scope string `json:"scope"`
}

// Counts are the digest's items by kind, including the omitted ones.
type Counts struct {
	Regressions          int `json:"regressions"`
	Fixes                int `json:"fixes"`
	ExpiringCertificates int `json:"expiring_certificates"`
	NewTargets           int `json:"new_targets"`
}

// TargetRef names a target in an item.
type TargetRef struct {
	ID    int64    `json:"id"`
	Name  string   `json:"name"` // kind://host:port
	Owner string   `json:"owner,omitempty"`
	Tags  []string `json:"tags,omitempty"`
}

// Item is one thing a digest reports.
type Item struct {
	Kind ItemKind `json:"kind"`
	// Key identifies the item for deduplication: "event:ID",
	// "cert:TARGET:SHA256" or "new:TARGET". A subscription hears of each
	// key once.
	Key     string    `json:"key"`
	Target  TargetRef `json:"target"`
	Summary string    `json:"summary"`
	// Link is the target's page, when the service knows its public URL.
	Link string    `json:"link,omitempty"`
	At   time.Time `json:"at"`

	// EventID, EventKind and Regression describe an event item; Severity
	// and Rule its finding, for finding events.
	EventID    int64  `json:"event_id,omitempty"`
	EventKind  string `json:"event_kind,omitempty"`
	Regression bool   `json:"regression,omitempty"`
	Severity   string `json:"severity,omitempty"`
	Rule       string `json:"rule,omitempty"`
	// Endpoints are the endpoints concerned (host/address:port).
	Endpoints []string `json:"endpoints,omitempty"`

	// NotAfter and LeafSHA256 describe the certificate of an expiry item.
	NotAfter   time.Time `json:"not_after,omitzero"`
	LeafSHA256 string    `json:"leaf_sha256,omitempty"`

	// Compliance and Grade are a new target's verdict.
	Compliance string `json:"compliance,omitempty"`
	Grade      string `json:"grade,omitempty"`
}

// Destination is where a digest goes.
type Destination struct {
	Channel Channel
	URL     string
	// Secret signs generic webhook payloads; Slack and Teams carry their
	// credential in the URL and ignore it.
	Secret string
}

// Channel is the kind of receiver, which decides the payload.
type Channel string

// The channels.
const (
	ChannelWebhook Channel = "webhook"
	ChannelSlack   Channel = "slack"
	ChannelTeams   Channel = "teams"
)

// ParseChannel reads a channel name.
func ParseChannel(s string) (Channel, error) {
	switch c := Channel(strings.ToLower(strings.TrimSpace(s))); c {
	case ChannelWebhook, ChannelSlack, ChannelTeams:
		return c, nil
	}
	return "", fmt.Errorf("unknown channel %q (want webhook, slack or teams)", s)
}

// Summarize returns a digest's one-sentence summary from its counts.
func Summarize(c Counts) string {
	var parts []string
	add := func(n int, one, many string) {
		switch {
		case n == 1:
			parts = append(parts, "1 "+one)
		case n > 1:
			parts = append(parts, fmt.Sprintf("%d %s", n, many))
		}
	}
	add(c.Regressions, "regression", "regressions")
	add(c.NewTargets, "new target not compliant", "new targets not compliant")
	add(c.ExpiringCertificates, "certificate expiring soon", "certificates expiring soon")
	add(c.Fixes, "fix", "fixes")
	if len(parts) == 0 {
		return "nothing to report"
	}
	return strings.Join(parts, ", ")
}
