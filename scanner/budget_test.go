package scanner

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestBudgetSlowStartThenAdditive(t *testing.T) {
	b := newBudget(100, 10, 4)
	if w, _, _ := b.snapshot(); w != initialWindow {
		t.Fatalf("initial window %v, want %d", w, initialWindow)
	}
	for range 10 {
		b.answered(0, 0)
	}
	if w, _, _ := b.snapshot(); w != initialWindow+10 {
		t.Errorf("after 10 answers in slow start: window %v, want %d", w, initialWindow+10)
	}
	for range 1000 {
		b.answered(0, 0)
	}
	if w, _, _ := b.snapshot(); w != 100 {
		t.Errorf("after many answers: window %v, want the cap 100", w)
	}
	b.congested(b.epoch)
	if w, _, _ := b.snapshot(); w != 50 {
		t.Fatalf("after a loss: window %v, want 50", w)
	}
	for range 50 {
		b.answered(0, 0) // one window of answers past ssthresh: about +1
	}
	if w, _, _ := b.snapshot(); w <= 50 || w >= 52 {
		t.Errorf("after a window of answers in congestion avoidance: window %v, want between 50 and 52", w)
	}
}

// TestBudgetCutsOncePerEpoch: a burst of losses among connections begun
// before a cut halves the window once; a loss of a connection begun after
// it halves it again; the window never falls below the minimum.
func TestBudgetCutsOncePerEpoch(t *testing.T) {
	b := newBudget(64, 10, 4)
	ctx := t.Context()
	var before []uint64
	for range 5 {
		e, err := b.acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		before = append(before, e)
	}
	for _, e := range before {
		b.congested(e)
	}
	if w, _, _ := b.snapshot(); w != 32 {
		t.Errorf("after a burst of 5 losses: window %v, want 32 (one cut)", w)
	}
	after, err := b.acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b.congested(after)
	if w, _, _ := b.snapshot(); w != 16 {
		t.Errorf("after a loss begun after the cut: window %v, want 16", w)
	}
	for range 10 {
		e, err := b.acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		b.congested(e)
		b.release()
	}
	if w, _, _ := b.snapshot(); w != minWindow {
		t.Errorf("after many cuts: window %v, want the minimum %d", w, minWindow)
	}
}

func TestBudgetAcquireWaitsForASlot(t *testing.T) {
	b := newBudget(minWindow, 10, 4) // window = cap = 8
	ctx := t.Context()
	for range minWindow {
		if _, err := b.acquire(ctx); err != nil {
			t.Fatal(err)
		}
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := b.acquire(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("acquire beyond the window: %v, want to wait until the deadline", err)
	}
	got := make(chan error, 1)
	go func() {
		_, err := b.acquire(ctx)
		got <- err
	}()
	b.release()
	if err := <-got; err != nil {
		t.Fatalf("acquire after a release: %v", err)
	}
	if _, inFlight, _ := b.snapshot(); inFlight != minWindow {
		t.Errorf("in flight %d, want %d (the canceled wait took nothing)", inFlight, minWindow)
	}
}

// TestBudgetAdmission: targets are admitted while the window has room for
// what they will want, never while a dial waits, and always when none runs.
func TestBudgetAdmission(t *testing.T) {
	b := newBudget(minWindow, 100, 4) // room for two pending targets of 4
	ctx := t.Context()
	a1, err := b.admit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.admit(ctx); err != nil {
		t.Fatal(err)
	}
	if admitted(t, b) {
		t.Fatal("a third target admitted with two pending in a window of 8")
	}
	// a1 dials: no longer pending, but its connections take room.
	for range 4 {
		if _, err := b.acquire(withTicket(ctx, a1)); err != nil {
			t.Fatal(err)
		}
	}
	if admitted(t, b) {
		t.Fatal("a third target admitted with 4 in flight and one pending of 4")
	}
	for range 4 {
		b.release()
	}
	b.finish(a1)
	if !admitted(t, b) {
		t.Fatal("no target admitted once the first finished")
	}
}

// admitted reports whether one more target is admitted without waiting
// long, and gives its admission back.
func admitted(t *testing.T, b *budget) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	tk, err := b.admit(ctx)
	if err != nil {
		return false
	}
	b.finish(tk)
	return true
}

func TestFlightSignals(t *testing.T) {
	timeout := fmt.Errorf("read: %w", os.ErrDeadlineExceeded)
	reset := fmt.Errorf("read: %w", syscall.ECONNRESET)
	refused := fmt.Errorf("dial: %w", syscall.ECONNREFUSED)
	for _, tc := range []struct {
		name  string
		alive bool
		n     int
		err   error
		want  float64
	}{
		{"answered", false, 5, nil, initialWindow + 1},
		{"timeout on an endpoint that never answered", false, 0, timeout, initialWindow},
		{"timeout on an endpoint that answered", true, 0, timeout, initialWindow / 2},
		{"reset before an answer", true, 0, reset, initialWindow / 2},
		{"refused", true, 0, refused, initialWindow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBudget(1000, 10, 4)
			seen := new(answers)
			seen.alive.Store(tc.alive)
			f := &flight{b: b, seen: seen, start: time.Now()}
			f.observe(tc.n, tc.err)
			f.observe(0, timeout) // told once: later reads change nothing
			if w, _, _ := b.snapshot(); w != tc.want {
				t.Errorf("window %v, want %v", w, tc.want)
			}
		})
	}
}

// TestBudgetDelayEndsSlowStart: answers as quick as their endpoints'
// quickest, or late by less than the floor (loopback jitter on a busy
// host), keep slow start going; a round mostly later than its endpoints'
// quickest by more than the threshold ends it, the window then growing by
// about one per window; a loss still halves it.
func TestBudgetDelayEndsSlowStart(t *testing.T) {
	const ms = time.Millisecond
	b := newBudget(4096, 10, 4)
	for range 3 * delayRound {
		b.answered(40*ms, 0)             // first answers: no baseline
		b.answered(2*ms+lateFloor, 2*ms) // jitter just under the floor
		b.answered(300*ms, 100*ms)       // a far endpoint, late by 200 ms: late
	}
	w, _, _ := b.snapshot()
	if w != initialWindow+9*delayRound || b.ssthresh != 4096 {
		t.Fatalf("rounds half late or less: window %v, ssthresh %v; want slow start to go on (window %v)", w, b.ssthresh, initialWindow+9*delayRound)
	}
	for range delayRound {
		b.answered(100*ms+lateBy(100*ms)+ms, 100*ms)
	}
	w, _, _ = b.snapshot()
	if w < b.ssthresh || b.delayExit == 0 {
		t.Fatalf("a late round: window %v, ssthresh %v, delay exit %v; want slow start ended", w, b.ssthresh, b.delayExit)
	}
	for range int(w) {
		b.answered(time.Second, 100*ms)
	}
	if w2, _, _ := b.snapshot(); w2 < w || w2 > w+1.01 {
		t.Errorf("a window of answers after the delay exit: window %v -> %v, want about +1", w, w2)
	}
	b.congested(b.epoch)
	if w3, _, _ := b.snapshot(); w3 > w/2+1 {
		t.Errorf("a loss after the delay exit: window %v, want about %v", w3, w/2)
	}
}

func TestBudgetStats(t *testing.T) {
	s, err := New(Config{MaxInFlight: 100})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for range 3 {
		if _, err := s.budget.acquire(ctx); err != nil {
			t.Fatal(err)
		}
	}
	s.budget.release()
	s.budget.congested(0)
	want := BudgetStats{Window: initialWindow / 2, Peak: 3, InFlight: 2, Cuts: 1}
	if got := s.Budget(); got != want {
		t.Errorf("Budget() = %+v, want %+v", got, want)
	}
}

// TestBudgetNewAddressCredit: in slow start each new address but the
// first brings its connections to the window, once, up to maxCredit in
// all; after a cut or a delay exit none does.
func TestBudgetNewAddressCredit(t *testing.T) {
	b := newBudget(100000, 10, 4)
	addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}) }
	for i := range 4 {
		b.newAddress(addr(i), 4)
		b.newAddress(addr(i), 4) // its caps dropped and made again: not new
	}
	if w, _, _ := b.snapshot(); w != initialWindow+12 {
		t.Errorf("after 4 new addresses, each twice: window %v, want %d (the first has the initial window)", w, initialWindow+12)
	}
	for i := range maxCredit {
		b.newAddress(addr(4+i), 4)
	}
	if w, _, _ := b.snapshot(); w != initialWindow+maxCredit {
		t.Errorf("after many new addresses: window %v, want %d (the credit's bound)", w, initialWindow+maxCredit)
	}

	cut := newBudget(100000, 10, 4)
	cut.newAddress(addr(0), 4)
	cut.congested(cut.epoch)
	w0, _, _ := cut.snapshot()
	cut.newAddress(addr(1), 4)
	if w, _, _ := cut.snapshot(); w != w0 {
		t.Errorf("a new address after a cut: window %v -> %v, want no credit", w0, w)
	}

	late := newBudget(100000, 10, 4)
	late.newAddress(addr(0), 4)
	for range delayRound {
		late.answered(time.Second, 100*time.Millisecond)
	}
	w0, _, _ = late.snapshot()
	if late.delayExit == 0 {
		t.Fatal("a late round did not end slow start")
	}
	late.newAddress(addr(1), 4)
	if w, _, _ := late.snapshot(); w != w0 {
		t.Errorf("a new address after the delay exit: window %v -> %v, want no credit", w0, w)
	}
}
