package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/tlswarden/tlswarden"
)

// Limits on a waiver's free text.
const (
	MaxWaiverReasonLen = 1000
	MaxWaiverActorLen  = 200
)

// Waiver is an exception recorded in the store: one rule does not count
// against the compliance of a target (or of every target of an owner, or
// with a tag) until a day. It is requested by one token and applies only
// once approved by another, until it expires or is revoked; every step is
// written to an append-only audit log.
type Waiver struct {
	ID int64 `json:"id"`
	// Exactly one of TargetID, Owner and Tag says what it covers.
	TargetID int64  `json:"target_id,omitempty"`
	Owner    string `json:"owner,omitempty"`
	Tag      string `json:"tag,omitempty"`
	Rule     string `json:"rule"`
	Reason   string `json:"reason"`
	// Expires is the last day (UTC) the waiver holds.
	Expires time.Time `json:"expires"`
	// RequestedBy and ApprovedBy name who asked and who approved, for
	// people; RequesterKey and ApproverKey identify them (a token's ID),
	// and must differ.
	RequestedBy  string    `json:"requested_by"`
	RequesterKey string    `json:"requester_key"`
	RequestedAt  time.Time `json:"requested_at"`
	ApprovedBy   string    `json:"approved_by,omitempty"`
	ApproverKey  string    `json:"approver_key,omitempty"`
	ApprovedAt   time.Time `json:"approved_at,omitzero"`
	RevokedBy    string    `json:"revoked_by,omitempty"`
	RevokedAt    time.Time `json:"revoked_at,omitzero"`
	// ExpiryNotedAt is when the service noticed the expiry and judged the
	// covered targets again; zero until then.
	ExpiryNotedAt time.Time `json:"expiry_noted_at,omitzero"`
}

// WaiverState is where a waiver stands.
type WaiverState string

// The states of a waiver.
const (
	WaiverRequested WaiverState = "requested" // waiting for a second person's approval
	WaiverActive    WaiverState = "active"
	WaiverExpired   WaiverState = "expired"
	WaiverRevoked   WaiverState = "revoked"
)

// State returns where the waiver stands at now.
func (w Waiver) State(now time.Time) WaiverState {
	switch {
	case !w.RevokedAt.IsZero():
		return WaiverRevoked
	case !w.active(now):
		return WaiverExpired
	case w.ApprovedAt.IsZero():
		return WaiverRequested
	}
	return WaiverActive
}

// active reports whether now is on or before the expiry day.
func (w Waiver) active(now time.Time) bool {
	p := w.Policy()
	return p.Active(now)
}

// Applies reports whether the waiver counts at now: approved, neither
// revoked nor expired.
func (w Waiver) Applies(now time.Time) bool { return w.State(now) == WaiverActive }

// Scope says what the waiver covers, for people: "target 12", "owner
// web-team" or "tag prod".
func (w Waiver) Scope() string {
	switch {
	case w.Owner != "":
		return "owner " + w.Owner
	case w.Tag != "":
		return "tag " + w.Tag
	}
	return "target " + strconv.FormatInt(w.TargetID, 10)
}

// Covers reports whether the waiver names target t.
func (w Waiver) Covers(t Target) bool {
	switch {
	case w.Owner != "":
		return t.Owner == w.Owner
	case w.Tag != "":
		return slices.Contains(t.Tags, w.Tag)
	}
	return w.TargetID == t.ID
}

// Policy returns the waiver as the policy takes it, for a target it
// covers: the policy checks the rule and the date.
func (w Waiver) Policy() tlswarden.Waiver {
	return tlswarden.Waiver{Target: "*", Rule: w.Rule, Reason: w.Reason, Expires: w.Expires}
}

// For returns the waiver as the policy takes it for target t.
func (w Waiver) For(t Target) tlswarden.Waiver {
	p := w.Policy()
	p.Target = t.Target.String()
	return p
}

// Normalize checks a waiver to be created and returns it as stored:
// trimmed, the expiry a UTC day, requested at now and neither approved
// nor revoked.
func (w Waiver) Normalize(now time.Time) (Waiver, error) {
	w.Owner, w.Tag, w.Rule = strings.TrimSpace(w.Owner), strings.TrimSpace(w.Tag), strings.TrimSpace(w.Rule)
	w.Reason, w.RequestedBy = strings.TrimSpace(w.Reason), strings.TrimSpace(w.RequestedBy)
	n := 0
	for _, set := range []bool{w.TargetID != 0, w.Owner != "", w.Tag != ""} {
		if set {
			n++
		}
	}
	switch {
	case n != 1:
		return w, invalid("target_id", "name exactly one of target_id, owner and tag")
	case w.TargetID < 0:
		return w, invalid("target_id", "must be a target's ID")
	case w.Rule == "" || len(w.Rule) > 100:
		return w, invalid("rule", "required, at most 100 bytes")
	case w.Reason == "":
		return w, invalid("reason", "required: an exception must say why")
	case len(w.Reason) > MaxWaiverReasonLen:
		return w, invalid("reason", "longer than %d bytes", MaxWaiverReasonLen)
	case strings.IndexFunc(w.Reason+w.Owner+w.Tag+w.Rule, unicode.IsControl) >= 0:
		return w, invalid("reason", "has control characters")
	case w.RequestedBy == "" || w.RequesterKey == "" || len(w.RequestedBy) > MaxWaiverActorLen:
		return w, invalid("requested_by", "required, at most %d bytes", MaxWaiverActorLen)
	case w.Expires.IsZero():
		return w, invalid("expires", "required")
	}
	w.Expires = time.Date(w.Expires.Year(), w.Expires.Month(), w.Expires.Day(), 0, 0, 0, 0, time.UTC)
	if !w.active(now) {
		return w, invalid("expires", "%s has passed", w.Expires.Format("2006-01-02"))
	}
	w.ID, w.RequestedAt = 0, Timestamp(now)
	w.ApprovedBy, w.ApproverKey, w.ApprovedAt, w.RevokedBy, w.RevokedAt, w.ExpiryNotedAt = "", "", time.Time{}, "", time.Time{}, time.Time{}
	return w, nil
}

// WaiverAction names one step in a waiver's life, as the audit log records
// it.
type WaiverAction string

// The steps the audit log records.
const (
	WaiverActionRequested WaiverAction = "requested"
	WaiverActionApproved  WaiverAction = "approved"
	WaiverActionRevoked   WaiverAction = "revoked"
	WaiverActionExpired   WaiverAction = "expired"
)

// WaiverAudit is one entry of the append-only audit log.
type WaiverAudit struct {
	ID       int64        `json:"id"`
	WaiverID int64        `json:"waiver_id"`
	Action   WaiverAction `json:"action"`
	Actor    string       `json:"actor"`
	At       time.Time    `json:"at"`
	// Waiver is the waiver as it stood after the step.
	Waiver Waiver `json:"waiver"`
}

// WaiverFilter selects waivers; its zero value selects all, by ID.
type WaiverFilter struct {
	TargetID int64 // waivers naming this target
}

// WaiverStore keeps waivers and their audit log. Both implementations
// provide it beside Store; the package comment's rules hold for it too,
// and each write appends its audit entry in the same transaction.
type WaiverStore interface {
	// CreateWaiver records a requested waiver (see Waiver.Normalize) and
	// returns it with its ID. A missing target wraps ErrNotFound.
	CreateWaiver(ctx context.Context, w Waiver) (Waiver, error)
	// ApproveWaiver approves a requested waiver. An approver with the
	// requester's key is a *ValidationError on approved_by; a waiver that
	// is not waiting for approval wraps ErrConflict.
	ApproveWaiver(ctx context.Context, id int64, by, key string) (Waiver, error)
	// RevokeWaiver revokes a waiver; revoking one twice wraps ErrConflict.
	RevokeWaiver(ctx context.Context, id int64, by string) (Waiver, error)
	// NoteWaiverExpired records, once, that an approved waiver has expired
	// by at (the caller's clock); it reports whether this call was the one
	// that did (so that one replica judges the covered targets again).
	NoteWaiverExpired(ctx context.Context, id int64, at time.Time) (bool, error)
	GetWaiver(ctx context.Context, id int64) (Waiver, error)
	ListWaivers(ctx context.Context, f WaiverFilter) ([]Waiver, error)
	// ListWaiverAudit returns the audit log of one waiver (0: of all), in
	// order.
	ListWaiverAudit(ctx context.Context, waiverID int64) ([]WaiverAudit, error)
}

// Approve returns the waiver approved by another person at now, or why
// it cannot be.
func (w Waiver) Approve(by, key string, now time.Time) (Waiver, error) {
	by = strings.TrimSpace(by)
	switch {
	case by == "" || key == "" || len(by) > MaxWaiverActorLen:
		return w, invalid("approved_by", "required, at most %d bytes", MaxWaiverActorLen)
	case key == w.RequesterKey:
		return w, invalid("approved_by", "the requester (%s) cannot approve their own waiver: another token must", w.RequestedBy)
	case w.State(now) != WaiverRequested:
		return w, fmt.Errorf("waiver %d is %s, not waiting for approval: %w", w.ID, w.State(now), ErrConflict)
	}
	w.ApprovedBy, w.ApproverKey, w.ApprovedAt = by, key, Timestamp(now)
	return w, nil
}

// Revoke returns the waiver revoked at now, or why it cannot be.
func (w Waiver) Revoke(by string, now time.Time) (Waiver, error) {
	by = strings.TrimSpace(by)
	switch {
	case by == "" || len(by) > MaxWaiverActorLen:
		return w, invalid("revoked_by", "required, at most %d bytes", MaxWaiverActorLen)
	case !w.RevokedAt.IsZero():
		return w, fmt.Errorf("waiver %d is already revoked: %w", w.ID, ErrConflict)
	}
	w.RevokedBy, w.RevokedAt = by, Timestamp(now)
	return w, nil
}

// NoteExpired returns the waiver with its expiry noted at now, and whether
// there was anything to note: an approved, unrevoked waiver past its
// expiry, not noted before.
func (w Waiver) NoteExpired(now time.Time) (Waiver, bool) {
	if w.ApprovedAt.IsZero() || w.State(now) != WaiverExpired || !w.ExpiryNotedAt.IsZero() {
		return w, false
	}
	w.ExpiryNotedAt = Timestamp(now)
	return w, true
}

// PolicyWaivers returns the approved, unrevoked waivers of st covering
// target t, as the policy takes them: it applies those unexpired at its
// time and shows the others as lapsed. None when st keeps no waivers.
func PolicyWaivers(ctx context.Context, st Store, t Target) ([]tlswarden.Waiver, error) {
	ws, ok := st.(WaiverStore)
	if !ok {
		return nil, nil
	}
	all, err := ws.ListWaivers(ctx, WaiverFilter{})
	if err != nil {
		return nil, err
	}
	var out []tlswarden.Waiver
	for _, w := range all {
		if !w.ApprovedAt.IsZero() && w.RevokedAt.IsZero() && w.Covers(t) {
			out = append(out, w.For(t))
		}
	}
	return out, nil
}
