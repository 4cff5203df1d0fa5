package store

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/schedule"
)

// Kinds lists the target kinds the registry accepts: those the scanner can
// scan.
var Kinds = func() []tlswarden.Kind {
	var ks []tlswarden.Kind
	for _, k := range tlswarden.Kinds() {
		ks = append(ks, k.Kind)
	}
	return ks
}()

// Limits on a target's free-text settings.
const (
	MaxOwnerLen    = 100
	MaxTags        = 32
	MaxTagLen      = 64
	MaxScheduleLen = 100
)

// Target is one service in the registry: what to scan and the settings that
// say who owns it and when to scan it.
type Target struct {
	ID int64 `json:"id"`
	tlswarden.Target
	// Enabled targets are scanned on schedule; a disabled one only on
	// request. The zero value is disabled: callers that build targets from
	// user input choose the default.
	Enabled bool `json:"enabled"`
	// Schedule is a cron expression that replaces the default schedule for
	// this target; empty means the default.
	Schedule string `json:"schedule,omitempty"`
	// Intrusive allows the weakness checks that a fragile appliance or an
	// IDS may take badly (Heartbleed, CCS injection, ROBOT, the CBC padding
	// oracle, client-initiated renegotiation) when the flags
	// and profile do; false exempts the target from them whatever those
	// say. As with Enabled, the zero value is the cautious one: callers
	// that build targets from user input choose the default (true).
	Intrusive bool `json:"intrusive"`
	// LatestScanID is the target's latest finished scan, 0 if none. Set by
	// the store; ignored on writes.
	LatestScanID int64     `json:"latest_scan_id,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// TargetFilter selects targets; its zero value selects all.
type TargetFilter struct {
	Owner   string // exact owner
	Tag     string // targets carrying this tag
	Enabled *bool  // only enabled (true) or disabled (false) targets
}

// ImportAction says what ImportTargets did with one row.
type ImportAction string

// The things ImportTargets can do with a row.
const (
	ImportAdded     ImportAction = "added"
	ImportChanged   ImportAction = "changed"
	ImportUnchanged ImportAction = "unchanged"
)

// ImportRow is one row of an import as stored, with what was done.
type ImportRow struct {
	Target Target       `json:"target"`
	Action ImportAction `json:"action"`
}

// ImportResult says what an import did, row by row in input order.
type ImportResult struct {
	Added     int         `json:"added"`
	Changed   int         `json:"changed"`
	Unchanged int         `json:"unchanged"`
	Rows      []ImportRow `json:"rows"`
}

// Add records one row's outcome.
func (r *ImportResult) Add(t Target, a ImportAction) {
	r.Rows = append(r.Rows, ImportRow{Target: t, Action: a})
	switch a {
	case ImportAdded:
		r.Added++
	case ImportChanged:
		r.Changed++
	default:
		r.Unchanged++
	}
}

// Normalize returns t in the form the store keeps, or a *ValidationError
// for the first rule it breaks: the host in lower-case A-label form (an IP
// literal in its canonical form), a port from 1 to 65535, a known kind
// (empty means https), tags trimmed, lower-cased, sorted and without
// duplicates, and a schedule shaped like a cron expression.
func (t Target) Normalize() (Target, error) {
	var err error
	if t.Host, err = NormalizeHost(t.Host); err != nil {
		return t, err
	}
	if t.Port < 1 || t.Port > 65535 {
		return t, invalid("port", "must be from 1 to 65535, not %d", t.Port)
	}
	if t.Kind == "" {
		t.Kind = tlswarden.KindHTTPS
	}
	if !slices.Contains(Kinds, t.Kind) {
		return t, invalid("kind", "unknown kind %q (known: %v)", t.Kind, Kinds)
	}
	if t.Kind == tlswarden.KindMail && t.IsIP() {
		return t, invalid("host", "a mail target names a mail domain, not an address")
	}
	if t.Owner, err = normalizeOwner(t.Owner); err != nil {
		return t, err
	}
	if t.Tags, err = normalizeTags(t.Tags); err != nil {
		return t, err
	}
	t.Schedule, err = normalizeSchedule(t.Schedule)
	return t, err
}

// SameSettings reports whether t and u name the same service with the same
// settings, whatever their IDs, scans and timestamps. Both must be
// normalised.
func (t Target) SameSettings(u Target) bool {
	return t.Host == u.Host && t.Port == u.Port && t.Kind == u.Kind &&
		t.Owner == u.Owner && slices.Equal(t.Tags, u.Tags) &&
		t.Enabled == u.Enabled && t.Schedule == u.Schedule && t.Intrusive == u.Intrusive
}

// Key identifies a target: its kind, host and port, unique together, so
// that a mail server and a web server on one name are two targets.
type Key struct {
	Kind tlswarden.Kind
	Host string
	Port int
}

// Key returns the target's unique key.
func (t Target) Key() Key { return Key{t.Kind, t.Host, t.Port} }

// NormalizeRows normalises the rows of an import. It returns the join of a
// *RowError for each row that is invalid or repeats an earlier row's
// kind, host and port.
func NormalizeRows(rows []Target) ([]Target, error) {
	out := make([]Target, len(rows))
	seen := make(map[Key]int, len(rows))
	var errs []error
	for i, r := range rows {
		n, err := r.Normalize()
		if err == nil {
			if j, dup := seen[n.Key()]; dup {
				err = invalid("host", "%s repeats row %d", n.Target, j+1)
			} else {
				seen[n.Key()] = i
			}
		}
		if err != nil {
			errs = append(errs, &RowError{Index: i, Err: err})
		}
		out[i] = n
	}
	return out, errors.Join(errs...)
}

// NormalizeHost returns a target host in the form the store keeps it: a
// name in lower-case A-label form, an IP address in its canonical form.
func NormalizeHost(host string) (string, error) {
	host = strings.TrimSpace(host)
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return "", invalid("host", "IPv6 zones are not supported")
		}
		return a.Unmap().String(), nil
	}
	name, err := tlswarden.NormalizeHostname(host)
	if err != nil {
		var pe *tlswarden.ParseError
		if errors.As(err, &pe) {
			return "", invalid("host", "%s", pe.Msg)
		}
		return "", invalid("host", "%v", err)
	}
	return name, nil
}

func normalizeOwner(owner string) (string, error) {
	owner = strings.TrimSpace(owner)
	return owner, CheckText("owner", owner, MaxOwnerLen)
}

func normalizeTags(tags []string) ([]string, error) {
	out := make([]string, 0, len(tags))
	for _, tag := range tags {
		tag = strings.ToLower(strings.TrimSpace(tag))
		if msg := checkTag(tag); msg != "" {
			return nil, invalid("tags", "tag %q %s", tag, msg)
		}
		out = append(out, tag)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > MaxTags {
		return nil, invalid("tags", "more than %d tags", MaxTags)
	}
	return out, nil
}

// checkTag allows the characters people use in labels: "env:prod",
// "team/web", "pci-dss".
func checkTag(tag string) string {
	if tag == "" || len(tag) > MaxTagLen {
		return fmt.Sprintf("must have 1 to %d characters", MaxTagLen)
	}
	for _, c := range tag {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.:/=", c)) {
			return "may hold only letters, digits and - _ . : / ="
		}
	}
	return ""
}

// normalizeSchedule checks a schedule as the scheduler reads it (see
// package schedule), so that one it could never fire is refused when it is
// written rather than ignored every minute after.
func normalizeSchedule(s string) (string, error) {
	s = strings.Join(strings.Fields(s), " ")
	switch {
	case s == "":
		return "", nil
	case utf8.RuneCountInString(s) > MaxScheduleLen:
		return "", invalid("schedule", "longer than %d characters", MaxScheduleLen)
	}
	sch, err := schedule.Parse(s)
	if err != nil {
		return "", invalid("schedule", "%v", err)
	}
	return sch.String(), nil
}

// KindOrHTTPS is k, or https for the empty kind (targets written before
// kinds existed).
func KindOrHTTPS(k tlswarden.Kind) tlswarden.Kind {
	if k == "" {
		return tlswarden.KindHTTPS
	}
	return k
}
