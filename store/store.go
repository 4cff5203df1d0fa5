// Package store defines how tlswarden keeps its registry and its history:
// the targets it scans, each scan with its per-endpoint reports and
// findings, and the events that say what changed from one scan to the next.
//
// Store is the contract; store/postgres and store/sqlite implement it, and
// store/storetest is the conformance suite both pass. Every implementation
// keeps these rules:
//
//   - It is safe for concurrent use by many goroutines, and by several
//     processes sharing one database (Migrate included).
//   - Every method honours its context: once ctx is done the call returns an
//     error that wraps ctx.Err(), and a write that did not complete has left
//     nothing behind.
//   - A write happens whole or not at all. FinishScan stores the scan's
//     report, evaluation, findings, events and endpoint postures (see
//     EndpointPosture) in one transaction; ImportTargets applies every row
//     or none.
//   - A row that does not exist gives an error wrapping ErrNotFound (creating
//     a scan of a missing target does too). A write that would give two
//     targets one host and port, or two endpoint reports of one scan one
//     address, or finish a finished scan, wraps ErrConflict. Input that breaks
//     a rule wraps ErrInvalid and is a *ValidationError naming the field; from
//     ImportTargets it is the join of one *RowError per bad row. Any other
//     error is the database's, wrapped with what was being done.
//   - Input is normalised before it is checked and stored (see
//     Target.Normalize and ScanResult.Normalize); what is read back is the
//     normalised form. Times are kept in UTC to the microsecond.
//   - IDs are positive; in a filter or a reference, zero means "none".
package store

import (
	"context"
	"time"

	"github.com/tlswarden/tlswarden"
)

// Store keeps targets, scans and their history. See the package comment for
// the rules every implementation keeps.
type Store interface {
	// CreateTarget adds a target and returns it as stored, with its ID.
	CreateTarget(ctx context.Context, t Target) (Target, error)
	// GetTarget returns the target with the given ID.
	GetTarget(ctx context.Context, id int64) (Target, error)
	// FindTarget returns the target with the given kind, host and port
	// (a target's key; the empty kind is https); host is normalised first,
	// so "Example.ORG." finds example.org.
	FindTarget(ctx context.Context, kind tlswarden.Kind, host string, port int) (Target, error)
	// UpdateTarget replaces the settings (host, port, kind, owner, tags,
	// enabled, schedule) of the target with t.ID and returns it as stored.
	UpdateTarget(ctx context.Context, t Target) (Target, error)
	// DeleteTarget removes a target with all its scans and events.
	DeleteTarget(ctx context.Context, id int64) error
	// ListTargets returns the targets that match f, by host then port.
	ListTargets(ctx context.Context, f TargetFilter) ([]Target, error)
	// ImportTargets adds or updates each target by its host and port, in one
	// transaction, and says what it did to each. Targets the rows do not
	// name are left alone. Rows naming one host and port twice are invalid.
	ImportTargets(ctx context.Context, rows []Target) (ImportResult, error)

	// CreateScan records the start of a scan of s.TargetID and returns it,
	// running, with its ID. Only TargetID, Trigger, RequestedBy and Started
	// are read; a zero Started means now.
	CreateScan(ctx context.Context, s Scan) (Scan, error)
	// FinishScan records how a running scan ended, with its report,
	// evaluation and events, in one transaction; the scan becomes its
	// target's latest unless a scan started later has already finished.
	FinishScan(ctx context.Context, scanID int64, r ScanResult) error
	// GetScan returns one scan.
	GetScan(ctx context.Context, id int64) (Scan, error)
	// ListScans returns scans, most recently started first.
	ListScans(ctx context.Context, f ScanFilter) ([]Scan, error)
	// GetScanResult returns what FinishScan stored for a scan; for a
	// running scan, a result whose Report has StatusRunning and nothing else.
	GetScanResult(ctx context.Context, scanID int64) (ScanResult, error)
	// LatestScan returns the target's latest finished scan.
	LatestScan(ctx context.Context, targetID int64) (Scan, error)
	// PreviousScan returns the finished scan of the same target that started
	// last before the given one: the scan to compare it with.
	PreviousScan(ctx context.Context, scanID int64) (Scan, error)
	// PruneScans deletes the scans started before cutoff, with their reports
	// and findings, except each target's latest. Events are kept. It returns
	// the number of scans deleted.
	PruneScans(ctx context.Context, cutoff time.Time) (int64, error)

	// ListFindings returns the findings that need attention (failed or not
	// evaluated) of each target's latest scan that match f, in ID order.
	ListFindings(ctx context.Context, f FindingFilter) ([]EstateFinding, error)
	// ListEndpoints returns the endpoints that match f, by target host and
	// port, then in the order of their scan's report.
	ListEndpoints(ctx context.Context, f EndpointFilter) ([]EndpointSummary, error)
	// ListEvents returns the events that match f in the order they were
	// recorded (ID order).
	ListEvents(ctx context.Context, f EventFilter) ([]Event, error)

	// Migrate brings the schema up to date. It is safe to call from several
	// processes at once and does nothing when there is nothing to do.
	Migrate(ctx context.Context) error
	// Close releases the store's connections.
	Close() error
}

// TxFinisher is a Store whose FinishScan can commit more work with the
// scan's result: the job queue completes the scan's job in the same
// transaction, so that a stored result and its completed job are one
// commit, and a retry never follows a result already stored. TTx is the
// implementation's transaction type: pgx.Tx for store/postgres, *sql.Tx on
// the store's writer connection for store/sqlite.
type TxFinisher[TTx any] interface {
	// FinishScanTx does what FinishScan does and then calls fn with the
	// transaction, before committing it. When fn returns an error, or ctx
	// ends before the commit, nothing is stored (the scan stays running)
	// and the error returned wraps fn's or ctx's.
	FinishScanTx(ctx context.Context, scanID int64, r ScanResult, fn func(ctx context.Context, tx TTx) error) error
}
