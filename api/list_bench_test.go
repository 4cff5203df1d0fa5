package api_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/api"
	"github.com/tlswarden/tlswarden/internal/testdb"
	"github.com/tlswarden/tlswarden/store"
)

// BenchmarkList10k measures the API's big answers over 10,000 registered
// targets on each store: the targets list (written a target at a time)
// and posture.csv. Run with
//
//	go test -run '^$' -bench List10k -benchtime 10x -count 3 ./api/
//
// It reports the body's size; B/op includes the server's allocations,
// which run in this process.
func BenchmarkList10k(b *testing.B) {
	for _, name := range testdb.Names {
		b.Run(name, func(b *testing.B) {
			url := listServer(b, name, 10_000)
			for _, path := range []string{"/api/v1/targets", "/api/v1/posture.csv"} {
				b.Run(path[len("/api/v1/"):], func(b *testing.B) {
					b.ReportAllocs()
					var n int64
					for b.Loop() {
						n = get(b, url+path)
					}
					b.ReportMetric(float64(n)/1e6, "MB/body")
				})
			}
		})
	}
}

func listServer(b *testing.B, backend string, n int) string {
	db := testdb.Open(b, backend)
	rows := make([]store.Target, n)
	for i := range rows {
		rows[i] = store.Target{Enabled: true, Target: tlswarden.Target{
			Host: fmt.Sprintf("service-%05d.example.org", i), Port: 443, Kind: tlswarden.KindHTTPS,
			Owner: fmt.Sprintf("team-%d", i%40), Tags: []string{"prod"}}}
	}
	if _, err := db.Store.ImportTargets(b.Context(), rows); err != nil {
		b.Fatal(err)
	}
	h, err := api.New(api.Config{Store: db.Store, OpenWrites: true})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	return srv.URL
}

func get(b *testing.B, url string) int64 {
	resp, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return n
}
