package fleetbench

import (
	"context"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// BenchmarkProxyCost measures what the latency proxy itself costs: b.N
// short connections through it, shaped like a scanner's (a 300-byte hello,
// a 4.2 KB answer in two writes, a 30-byte alert and a FIN), 200 at a time
// over 200 fronted addresses, to a backend in this process. It reports the
// proxy process's CPU per connection and how much later than the path's
// two round trips the answer came (median and slowest). The round trip is
// TLSWARDEN_BENCH_PROXY_RTT (milliseconds, default 50). With
// TLSWARDEN_PROXY_CPUPROFILE set, the proxy writes its CPU profile there.
func BenchmarkProxyCost(b *testing.B) {
	rtt := 50 * time.Millisecond
	if v := os.Getenv("TLSWARDEN_BENCH_PROXY_RTT"); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms < 0 {
			b.Fatalf("TLSWARDEN_BENCH_PROXY_RTT=%q: want milliseconds", v)
		}
		rtt = time.Duration(ms) * time.Millisecond
	}
	const fronted, inFlight = 200, 200
	backend := startHelloServer(b)
	eps := make([]endpoint, fronted)
	for i := range eps {
		eps[i] = endpoint{Addr: backend, Server: "go", Config: "hello"}
	}
	front := startLatencyProxy(b, b.TempDir(), rtt, 0, eps)
	logLoad(b, "before")
	var (
		next   atomic.Int64
		mu     sync.Mutex
		excess []time.Duration
	)
	_, before := groupsCPU()
	b.ResetTimer()
	var wg sync.WaitGroup
	for range inFlight {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				took, err := helloExchange(front[i%fronted].Addr)
				if err != nil {
					b.Error(err)
					return
				}
				mu.Lock()
				excess = append(excess, took-2*rtt)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	_, after := groupsCPU()
	logLoad(b, "after")
	if len(excess) == 0 {
		return
	}
	slices.Sort(excess)
	b.ReportMetric(float64((after-before).Microseconds())/float64(b.N), "proxy-cpu-µs/conn")
	b.ReportMetric(float64(excess[len(excess)/2].Microseconds())/1000, "late-median-ms")
	b.ReportMetric(float64(excess[len(excess)-1].Microseconds())/1000, "late-max-ms")
	if excess[0] < 0 {
		b.Errorf("an answer came %v before the path's two round trips", -excess[0])
	}
}

// helloExchange makes one scanner-shaped connection to a: hello, answer,
// alert, FIN; it returns how long the answer took from the dial.
func helloExchange(a netip.AddrPort) (time.Duration, error) {
	start := time.Now()
	c, err := net.DialTimeout("tcp", a.String(), 30*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write(make([]byte, 300)); err != nil {
		return 0, err
	}
	if _, err := io.ReadFull(c, make([]byte, helloAnswer)); err != nil {
		return 0, err
	}
	took := time.Since(start)
	if _, err := c.Write(make([]byte, 30)); err != nil {
		return 0, err
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return 0, err
	}
	if _, err := io.Copy(io.Discard, c); err != nil {
		return 0, err
	}
	return took, nil
}

// helloAnswer is the backend's answer to a hello: 1,400 and 2,800 bytes.
const helloAnswer = 4200

// startHelloServer serves helloExchange's other side: it reads a hello,
// answers in two writes, reads to the end and closes.
func startHelloServer(tb testing.TB) netip.AddrPort {
	tb.Helper()
	return tlstest.RawServer(tb, func(_ context.Context, c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(time.Minute))
		if _, err := io.ReadFull(c, make([]byte, 300)); err != nil {
			return
		}
		if _, err := c.Write(make([]byte, 1400)); err != nil {
			return
		}
		if _, err := c.Write(make([]byte, helloAnswer-1400)); err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, c)
	})
}
