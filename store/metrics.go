package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/tlswarden/tlswarden"
)

// PostureStore is what the metrics collector reads: every target with its
// latest scan and its latest successful one, and the endpoint documents of
// chosen scans. Both implementations provide it; it is kept apart from
// Store so that a store without it still satisfies Store. The package
// comment's rules hold for it too.
type PostureStore interface {
	// ListScanStates returns every target, by host then port, with its
	// latest finished scan and its latest successful one (see
	// ScanState.LastSuccess).
	ListScanStates(ctx context.Context) ([]ScanState, error)
	// ListScanEndpoints returns the endpoint reports and evaluations of
	// the given finished scans, by scan ID then in report order. IDs that
	// name no finished scan are skipped.
	ListScanEndpoints(ctx context.Context, scanIDs []int64) ([]ScanEndpoint, error)
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

// ScanEndpoint is one endpoint of a finished scan with its documents.
type ScanEndpoint struct {
	ScanID  int64  `json:"scan_id"`
	Ordinal int    `json:"ordinal"`
	Profile string `json:"profile,omitempty"`
	// Report is the endpoint's facts; Evaluation its judgement, nil when
	// the scan was not evaluated.
	Report     tlswarden.EndpointReport      `json:"report"`
	Evaluation *tlswarden.EndpointEvaluation `json:"evaluation,omitempty"`
}

// DecodeScanEndpoint fills e's Report and Evaluation from the JSON an
// implementation keeps them in; a nil or JSON-null evaluation leaves
// Evaluation nil.
func DecodeScanEndpoint(e *ScanEndpoint, report, evaluation []byte) error {
	if err := json.Unmarshal(report, &e.Report); err != nil {
		return fmt.Errorf("decode report of scan %d endpoint %d: %w", e.ScanID, e.Ordinal, err)
	}
	if len(evaluation) == 0 || string(evaluation) == "null" {
		return nil
	}
	e.Evaluation = new(tlswarden.EndpointEvaluation)
	if err := json.Unmarshal(evaluation, e.Evaluation); err != nil {
		return fmt.Errorf("decode evaluation of scan %d endpoint %d: %w", e.ScanID, e.Ordinal, err)
	}
	return nil
}
