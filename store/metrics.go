package store

import (
	"context"

	"github.com/tlswarden/tlswarden"
)

// PostureStore is what the metrics collector reads: every target with its
// latest scan and its latest successful one, and the postures of the
// endpoints of chosen scans. Both implementations provide it; it is kept
// apart from Store so that a store without it still satisfies Store. The
// package comment's rules hold for it too.
type PostureStore interface {
	// ListScanStates returns every target, by host then port, with its
	// latest finished scan and its latest successful one (see
	// ScanState.LastSuccess).
	ListScanStates(ctx context.Context) ([]ScanState, error)
	// ListEndpointPostures returns the postures of the endpoints of the
	// given finished scans, by scan ID then in report order: what
	// PostureOf derives from their reports and evaluations. FinishScan
	// keeps them, so they are read without the documents; for a scan
	// finished before the store kept them (schema version 4) they are
	// derived from its documents, at the cost of decoding them. IDs that
	// name no finished scan are skipped.
	ListEndpointPostures(ctx context.Context, scanIDs []int64) ([]EndpointPosture, error)
}

// ScanState is one target with the scans that say how it stands.
type ScanState struct {
	Target Target `json:"target"`
	// Latest is the target's latest finished scan (Target.LatestScanID);
	// its ID is 0 when the target was never scanned.
	Latest Scan `json:"latest"`
	// LatestFailure is how the latest scan failed: its own status when it
	// is not ok, else the status of its first endpoint that is not ok;
	// empty when the latest scan scanned every endpoint.
	LatestFailure tlswarden.Status `json:"latest_failure,omitempty"`
	// LastSuccess is the latest finished scan, by start time, whose status
	// is ok and in which at least one endpoint was scanned (status ok):
	// the scan whose measurements stand until a newer one succeeds. Its ID
	// is 0 when there is none.
	LastSuccess Scan `json:"last_success"`
}

// EndpointReportStore reads one endpoint of a stored scan without the
// others: what GET /api/v1/scans/{id}/endpoints/{n} answers. Both
// implementations provide it.
type EndpointReportStore interface {
	// GetEndpointReport returns the report and evaluation (nil when the
	// scan was not evaluated) of the endpoint numbered ordinal (from 0, in
	// report order) of a finished scan; ErrNotFound when there is no such
	// scan or endpoint.
	GetEndpointReport(ctx context.Context, scanID int64, ordinal int) (tlswarden.EndpointReport, *tlswarden.EndpointEvaluation, error)
}
