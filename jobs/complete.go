package jobs

import (
	"context"
	"fmt"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"

	"github.com/tlswarden/tlswarden/store"
)

// finishFunc stores a scan's result, inserts the digest jobs it concerns
// and completes the job that scanned it, in one transaction.
type finishFunc func(ctx context.Context, scanID int64, r store.ScanResult, digests []river.InsertManyParams, job *river.Job[ScanTargetArgs]) error

// completeInTx returns the finishFunc of a store that keeps its data where
// the queue keeps its jobs (store.TxFinisher of the River driver's
// transaction type), or nil for one that does not: its scans are stored,
// then completed by River in a transaction of its own, and a crash between
// the two has the job retried and the target scanned twice.
//
// With it, the job is completed in FinishScan's transaction, with the
// digests the scan concerns enqueued: a result is stored only with its job
// completed, and a failure before the commit leaves neither, so the
// retry's scan is the only one; whoever sees the job completed sees its
// digests waiting. River's own
// completion after Work returns then finds the job no longer running and
// leaves it be.
func completeInTx[TDriver riverdriver.Driver[TTx], TTx any](st store.Store) finishFunc {
	fs, ok := st.(store.TxFinisher[TTx])
	if !ok {
		return nil
	}
	return func(ctx context.Context, scanID int64, r store.ScanResult, digests []river.InsertManyParams, job *river.Job[ScanTargetArgs]) error {
		return fs.FinishScanTx(ctx, scanID, r, func(ctx context.Context, tx TTx) error {
			if len(digests) > 0 {
				// The worker's context carries its client.
				if _, err := river.ClientFromContext[TTx](ctx).InsertManyTx(ctx, tx, digests); err != nil {
					return fmt.Errorf("enqueue digests: %w", err)
				}
			}
			_, err := river.JobCompleteTx[TDriver](ctx, tx, job)
			return err
		})
	}
}
