package activetime

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A context without a Meter is context.WithTimeout.
func TestWithTimeoutWithoutMeter(t *testing.T) {
	ctx, cancel := WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	<-ctx.Done()
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("Err = %v, want deadline exceeded", ctx.Err())
	}
}

// Time queued does not count: a context with 200 ms of active time whose
// endpoint queues for 600 ms is still alive after 600 ms, its deadline
// moved later, and then ends with context.DeadlineExceeded (the error
// the scanner reports as a timeout), also in a context derived from it.
func TestQueuedTimeDoesNotCount(t *testing.T) {
	m := new(Meter)
	ctx, cancel := WithTimeout(WithMeter(t.Context(), m), 200*time.Millisecond)
	defer cancel()
	child, cancelChild := context.WithCancel(ctx)
	defer cancelChild()
	first, _ := ctx.Deadline()
	resume := Queued(ctx)
	time.Sleep(600 * time.Millisecond)
	if err := ctx.Err(); err != nil {
		t.Fatalf("ended while queued: %v", err)
	}
	resume()
	resume() // once only
	later, ok := ctx.Deadline()
	if !ok || later.Sub(first) < 500*time.Millisecond {
		t.Fatalf("deadline moved by %v, want about 600ms", later.Sub(first))
	}
	select {
	case <-child.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("never ended after the queue")
	}
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) || !errors.Is(child.Err(), context.DeadlineExceeded) {
		t.Fatalf("Err = %v, child %v; want deadline exceeded", ctx.Err(), child.Err())
	}
	if !errors.Is(context.Cause(child), context.DeadlineExceeded) {
		t.Fatalf("Cause = %v, want deadline exceeded", context.Cause(child))
	}
}

// Two dials queued at once pause the clock once, until the last resumes.
func TestOverlappingQueues(t *testing.T) {
	m := new(Meter)
	a := m.wait()
	time.Sleep(50 * time.Millisecond)
	b := m.wait()
	a()
	time.Sleep(50 * time.Millisecond)
	b()
	got := m.total(time.Now())
	if got < 100*time.Millisecond || got > 5*time.Second {
		t.Fatalf("queued %v, want about 100ms", got)
	}
	time.Sleep(30 * time.Millisecond)
	if again := m.total(time.Now()); again != got {
		t.Fatalf("queued time grew to %v with nothing queued", again)
	}
}

// The parent's end ends it, with the parent's error; cancel ends it with
// context.Canceled.
func TestParentAndCancel(t *testing.T) {
	parent, stop := context.WithCancel(WithMeter(t.Context(), new(Meter)))
	ctx, cancel := WithTimeout(parent, time.Hour)
	defer cancel()
	stop()
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("parent's end did not end it")
	}
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Fatalf("Err = %v, want canceled", ctx.Err())
	}
	ctx2, cancel2 := WithTimeout(WithMeter(t.Context(), new(Meter)), time.Hour)
	cancel2()
	<-ctx2.Done()
	if !errors.Is(ctx2.Err(), context.Canceled) {
		t.Fatalf("Err = %v after cancel, want canceled", ctx2.Err())
	}
}

// The parent's deadline bounds it, even while queued.
func TestParentDeadlineBounds(t *testing.T) {
	parent, stop := context.WithTimeout(WithMeter(t.Context(), new(Meter)), 100*time.Millisecond)
	defer stop()
	ctx, cancel := WithTimeout(parent, time.Hour)
	defer cancel()
	defer Queued(ctx)()
	if d, _ := ctx.Deadline(); time.Until(d) > time.Second {
		t.Fatalf("deadline %v away, want the parent's", time.Until(d))
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("parent's deadline did not end it")
	}
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("Err = %v, want deadline exceeded", ctx.Err())
	}
}
