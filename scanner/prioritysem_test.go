package scanner

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden"
)

// waitersOf waits until s has n waiters.
func waitersOf(t *testing.T, s *prioritySem, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		s.mu.Lock()
		got := len(s.waiters)
		s.mu.Unlock()
		if got == n {
			return
		}
	}
	t.Fatalf("waiters never reached %d", n)
}

// TestPrioritySemOrder: waiters are served highest priority first, an
// unmarked dial before any marked one, and in arrival order within a
// priority; a waiter for every slot holds back those behind it.
func TestPrioritySemOrder(t *testing.T) {
	s := newPrioritySem(1)
	if err := s.Acquire(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	served := make(chan string, 8)
	for i, w := range []struct {
		name     string
		priority int // -1: unmarked
	}{{"low", 1}, {"high", 3}, {"mid-a", 2}, {"unmarked", -1}, {"mid-b", 2}} {
		ctx := t.Context()
		if w.priority >= 0 {
			ctx = tlswarden.DialPriority(ctx, w.priority)
		}
		go func() {
			if err := s.Acquire(ctx, 1); err != nil {
				served <- err.Error()
				return
			}
			served <- w.name
			s.Release(1)
		}()
		waitersOf(t, s, i+1)
	}
	s.Release(1)
	var got []string
	for range 5 {
		got = append(got, <-served)
	}
	want := []string{"unmarked", "high", "mid-a", "mid-b", "low"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("served (-want +got):\n%s", diff)
	}
}

// TestPrioritySemHold: a slot given back by a dial of priority 5 while
// only a dial of priority 1 waits is held for the next dial of priority
// 5 or more, which takes it at once, ahead of the waiter; a hold not
// taken lapses and the waiter is served.
func TestPrioritySemHold(t *testing.T) {
	s := newPrioritySem(1)
	high := tlswarden.DialPriority(t.Context(), 5)
	if err := s.Acquire(high, 1); err != nil {
		t.Fatal(err)
	}
	low := make(chan time.Time, 1)
	go func() {
		if err := s.Acquire(tlswarden.DialPriority(t.Context(), 1), 1); err == nil {
			low <- time.Now()
		}
	}()
	waitersOf(t, s, 1)
	s.ReleaseFor(5, time.Hour)
	if s.TryAcquire(1) {
		t.Fatal("TryAcquire took a held slot")
	}
	ctx, cancel := context.WithTimeout(high, time.Second)
	defer cancel()
	if err := s.Acquire(ctx, 1); err != nil {
		t.Fatalf("the next dial of the priority did not get the held slot: %v", err)
	}
	select {
	case <-low:
		t.Fatal("the waiter of lower priority got the slot held for a higher one")
	default:
	}
	const hold = 20 * time.Millisecond
	start := time.Now()
	s.ReleaseFor(5, hold)
	if got := (<-low).Sub(start); got < hold/2 {
		t.Errorf("the waiter was served %v after the release, before the hold of %v lapsed", got, hold)
	}
	s.Release(1)
	if !s.TryAcquire(1) {
		t.Error("slot not free at the end")
	}
}

// TestPrioritySemPromotes: a dial of negative priority (nothing waits for
// it) that waited maxWait is served next, ahead of the dials of higher
// priority still waiting; before that it waits behind them.
func TestPrioritySemPromotes(t *testing.T) {
	defer func(d time.Duration) { maxWait = d }(maxWait)
	maxWait = 300 * time.Millisecond
	s := newPrioritySem(1)
	if err := s.Acquire(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	served := make(chan int, 3)
	acquire := func(p int) {
		go func() {
			if err := s.Acquire(tlswarden.DialPriority(t.Context(), p), 1); err == nil {
				served <- p
			}
		}()
	}
	acquire(-1)
	waitersOf(t, s, 1)
	acquire(5)
	waitersOf(t, s, 2)
	s.Release(1)
	if got := <-served; got != 5 {
		t.Fatalf("served %d first, want 5: the one-shot is served before it waited maxWait", got)
	}
	acquire(5)
	waitersOf(t, s, 2)
	time.Sleep(2 * maxWait)
	s.Release(1)
	if got := <-served; got != -1 {
		t.Errorf("served %d, want -1: the one-shot waited past maxWait", got)
	}
	s.Release(1)
	if got := <-served; got != 5 {
		t.Errorf("served %d last, want 5", got)
	}
}
