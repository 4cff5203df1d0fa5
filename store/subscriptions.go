package store

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/tlswarden/tlswarden"
)

// Limits on a subscription.
const (
	MaxSubscriptionNameLen = 100
	MaxWebhookURLLen       = 2048
	MinWebhookSecretLen    = 16
	MaxWebhookSecretLen    = 200
	MaxExpiryDays          = 365
	// MaxDeliveryErrorLen bounds a delivery's LastError, in bytes.
	MaxDeliveryErrorLen = 1000
)

// The channels a subscription sends to.
const (
	ChannelWebhook = "webhook" // generic JSON, signed with the secret
	ChannelSlack   = "slack"   // a Slack incoming webhook
	ChannelTeams   = "teams"   // a Microsoft Teams Workflows webhook
)

// Subscription says who hears about what: the targets it covers (an
// owner's, a tag's, or the whole estate), the receiver, and which changes
// count. URL and Secret are credentials: they are never marshalled, and
// String leaves them out.
type Subscription struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// At most one of Owner and Tag is set; neither covers every target.
	Owner   string `json:"owner,omitempty"`
	Tag     string `json:"tag,omitempty"`
	Channel string `json:"channel"`
	URL     string `json:"-"`
	// Secret signs a webhook's payloads (required for ChannelWebhook,
	// unused by the others).
	Secret string `json:"-"`
	// Regressions, Fixes and ExpiryDays say what is sent: regression
	// events (and new targets whose first scan is not compliant), fix
	// events, and certificates expiring within ExpiryDays days (0: none).
	Regressions bool `json:"regressions"`
	Fixes       bool `json:"fixes"`
	ExpiryDays  int  `json:"expiry_days,omitempty"`
	// MinSeverity, when set, leaves out finding events of lower severity;
	// events that carry no severity are kept.
	MinSeverity tlswarden.Severity `json:"min_severity,omitempty"`
	CreatedBy   string             `json:"created_by"`
	CreatedAt   time.Time          `json:"created_at"`
	Disabled    bool               `json:"disabled"`
	// EventCursor is the ID of the last event the subscription's digests
	// have considered; it starts at the latest event when the
	// subscription is created, so history before it is not sent.
	EventCursor int64 `json:"-"`
}

// String describes the subscription without its URL and secret.
func (s Subscription) String() string {
	return fmt.Sprintf("subscription %d %q (%s, %s)", s.ID, s.Name, s.Channel, s.Scope())
}

// GoString is String, so that %#v does not print the credentials either.
func (s Subscription) GoString() string { return s.String() }

// Scope says what the subscription covers: "all", "owner NAME" or
// "tag NAME".
func (s Subscription) Scope() string {
	switch {
	case s.Owner != "":
		return "owner " + s.Owner
	case s.Tag != "":
		return "tag " + s.Tag
	}
	return "all"
}

// Covers reports whether the subscription covers target t.
func (s Subscription) Covers(t Target) bool {
	switch {
	case s.Owner != "":
		return t.Owner == s.Owner
	case s.Tag != "":
		for _, tag := range t.Tags {
			if tag == s.Tag {
				return true
			}
		}
		return false
	}
	return true
}

// Normalize checks a subscription to be created and returns it as stored:
// trimmed, created at now, enabled unless asked otherwise.
func (s Subscription) Normalize(now time.Time) (Subscription, error) {
	s.Name, s.Owner, s.Tag = strings.TrimSpace(s.Name), strings.TrimSpace(s.Owner), strings.TrimSpace(s.Tag)
	s.Channel, s.URL, s.CreatedBy = strings.ToLower(strings.TrimSpace(s.Channel)), strings.TrimSpace(s.URL), strings.TrimSpace(s.CreatedBy)
	switch {
	case s.Name == "" || len(s.Name) > MaxSubscriptionNameLen:
		return s, invalid("name", "required, at most %d bytes", MaxSubscriptionNameLen)
	case strings.IndexFunc(s.Name+s.Owner+s.Tag+s.CreatedBy, unicode.IsControl) >= 0:
		return s, invalid("name", "has control characters")
	case s.Owner != "" && s.Tag != "":
		return s, invalid("owner", "name an owner or a tag, not both (neither: every target)")
	case s.Channel != ChannelWebhook && s.Channel != ChannelSlack && s.Channel != ChannelTeams:
		return s, invalid("channel", "must be webhook, slack or teams")
	case s.ExpiryDays < 0 || s.ExpiryDays > MaxExpiryDays:
		return s, invalid("expiry_days", "between 0 and %d", MaxExpiryDays)
	case !s.Regressions && !s.Fixes && s.ExpiryDays == 0:
		return s, invalid("regressions", "a subscription must ask for regressions, fixes or certificate expiry")
	case s.MinSeverity < 0 || s.MinSeverity > tlswarden.SeverityCritical:
		return s, invalid("min_severity", "unknown severity")
	case s.CreatedBy == "" || len(s.CreatedBy) > MaxWaiverActorLen:
		return s, invalid("created_by", "required, at most %d bytes", MaxWaiverActorLen)
	}
	if err := checkWebhookURL(s.URL); err != nil {
		return s, err
	}
	if s.Channel == ChannelWebhook {
		if len(s.Secret) < MinWebhookSecretLen || len(s.Secret) > MaxWebhookSecretLen {
			return s, invalid("secret", "a webhook needs a secret of %d to %d bytes to sign its payloads", MinWebhookSecretLen, MaxWebhookSecretLen)
		}
	} else {
		s.Secret = ""
	}
	s.ID, s.CreatedAt, s.EventCursor = 0, Timestamp(now), 0
	return s, nil
}

// checkWebhookURL says why a receiver's URL cannot be used, without
// quoting it: it is a credential.
func checkWebhookURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case raw == "" || len(raw) > MaxWebhookURLLen:
		return invalid("url", "required, at most %d bytes", MaxWebhookURLLen)
	case err != nil:
		return invalid("url", "not a URL")
	case u.Scheme != "https" && u.Scheme != "http":
		return invalid("url", "scheme %q: want https (or http)", u.Scheme)
	case u.Hostname() == "":
		return invalid("url", "no host")
	case u.Fragment != "" || strings.IndexFunc(raw, unicode.IsSpace) >= 0:
		return invalid("url", "has a fragment or spaces")
	}
	return nil
}

// DeliveryStatus is where a delivery stands.
type DeliveryStatus string

// The states of a delivery.
const (
	DeliveryPending DeliveryStatus = "pending" // not sent yet, or being retried
	DeliverySent    DeliveryStatus = "sent"
	DeliveryFailed  DeliveryStatus = "failed" // given up: LastError says why
)

// Delivery is one digest to one subscription: what it holds, and how
// sending it went.
type Delivery struct {
	ID             int64          `json:"id"`
	SubscriptionID int64          `json:"subscription_id"`
	Status         DeliveryStatus `json:"status"`
	// Items are the keys of what the digest reports ("event:ID", ...); a
	// subscription's deliveries never share one.
	Items []string `json:"items"`
	// Digest is the message, as the generic webhook payload (package
	// notify's Digest) without its delivery ID.
	Digest    json.RawMessage `json:"digest"`
	Attempts  int             `json:"attempts"`
	LastError string          `json:"last_error,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
	SentAt    time.Time       `json:"sent_at,omitzero"`
}

// EventIDs returns the IDs of the events among the delivery's items.
func (d Delivery) EventIDs() []int64 {
	var out []int64
	for _, k := range d.Items {
		if rest, ok := strings.CutPrefix(k, "event:"); ok {
			if id, err := strconv.ParseInt(rest, 10, 64); err == nil {
				out = append(out, id)
			}
		}
	}
	return out
}

// Normalize checks a delivery to be created and returns it as stored:
// pending, created at now, not yet tried.
func (d Delivery) Normalize(now time.Time) (Delivery, error) {
	seen := map[string]bool{}
	switch {
	case d.SubscriptionID <= 0:
		return d, invalid("subscription_id", "must be a subscription's ID")
	case len(d.Items) == 0:
		return d, invalid("items", "a delivery reports at least one item")
	case !json.Valid(d.Digest):
		return d, invalid("digest", "not valid JSON")
	}
	for _, k := range d.Items {
		if k == "" || len(k) > 200 || seen[k] {
			return d, invalid("items", "empty, longer than 200 bytes, or repeated: %q", k)
		}
		seen[k] = true
	}
	d.ID, d.Status, d.Attempts, d.LastError, d.SentAt, d.CreatedAt = 0, DeliveryPending, 0, "", time.Time{}, Timestamp(now)
	return d, nil
}

// DeliveryFilter selects deliveries; its zero value selects all, newest
// first.
type DeliveryFilter struct {
	SubscriptionID int64
	Status         DeliveryStatus
	Limit          int // at most this many; 0 means no limit
}

// SubscriptionStore keeps subscriptions and their deliveries. Both
// implementations provide it beside Store; the package comment's rules
// hold for it too.
type SubscriptionStore interface {
	// CreateSubscription records a subscription (see
	// Subscription.Normalize) with its EventCursor at the latest event,
	// and returns it with its ID.
	CreateSubscription(ctx context.Context, s Subscription) (Subscription, error)
	// GetSubscription returns one subscription, credentials included.
	GetSubscription(ctx context.Context, id int64) (Subscription, error)
	// ListSubscriptions returns every subscription, by ID, credentials
	// included.
	ListSubscriptions(ctx context.Context) ([]Subscription, error)
	// SetSubscriptionDisabled disables or enables a subscription.
	SetSubscriptionDisabled(ctx context.Context, id int64, disabled bool) (Subscription, error)
	// DeleteSubscription removes a subscription with its deliveries.
	DeleteSubscription(ctx context.Context, id int64) error
	// AdvanceEventCursor moves a subscription's EventCursor to cursor if
	// that is further.
	AdvanceEventCursor(ctx context.Context, id, cursor int64) error
	// UnsentItems returns those of keys that no delivery of the
	// subscription holds yet, in their order.
	UnsentItems(ctx context.Context, subscriptionID int64, keys []string) ([]string, error)
	// CreateDelivery records a pending delivery (see Delivery.Normalize)
	// and advances its subscription's EventCursor to cursor, in one
	// transaction. An item another delivery of the subscription holds
	// wraps ErrConflict and nothing is written; a missing subscription
	// wraps ErrNotFound.
	CreateDelivery(ctx context.Context, d Delivery, cursor int64) (Delivery, error)
	GetDelivery(ctx context.Context, id int64) (Delivery, error)
	// ListDeliveries returns the deliveries that match f, newest first.
	ListDeliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, error)
	// RecordAttempt counts one attempt to send a delivery and sets its
	// status and last error (cut to MaxDeliveryErrorLen); a sent one gets
	// SentAt at. A delivery already sent wraps ErrConflict.
	RecordAttempt(ctx context.Context, id int64, status DeliveryStatus, errText string, at time.Time) (Delivery, error)
}

// CutError returns s cut to MaxDeliveryErrorLen bytes on a rune boundary.
func CutError(s string) string {
	if len(s) <= MaxDeliveryErrorLen {
		return s
	}
	cut := MaxDeliveryErrorLen
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut]
}
