package pace

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPacer(t *testing.T) {
	if p := New(0); p != nil {
		t.Error("New(0) is not nil")
	}
	p := New(10) // every 100ms
	now := time.Unix(1000, 0)
	var got []time.Duration
	for range 3 {
		got = append(got, p.Reserve(now))
	}
	got = append(got, p.Reserve(now.Add(time.Second))) // after a pause: no wait, no burst saved up
	got = append(got, p.Reserve(now.Add(time.Second)))
	want := []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond, 0, 100 * time.Millisecond}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
}
