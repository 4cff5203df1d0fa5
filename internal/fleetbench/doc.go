// Package fleetbench benchmarks tlswarden against a local fleet of TLS
// servers and against the scanners people compare it with.
//
// The benchmarks start about 200 loopback endpoints with a mix of
// configurations (one nginx with many server blocks, sixteen
// single-threaded gnutls-serv processes, and Go crypto/tls servers in a
// child process, so that the scanner's memory and CPU are measured alone),
// scan them with the real scanner and probes at the command's defaults, and
// time the Debian peers on the same servers in the same run:
//
//   - BenchmarkFleet: for versions and suites (the TLS probe with
//     NoGroups), then with every group enumerated too: endpoints per
//     second, connections per endpoint, peak
//     heap and peak RSS of the scanning process; then nmap's
//     ssl-enum-ciphers on the same ports, its wall time, the ratio, and
//     every difference between the suites nmap found and ours.
//   - BenchmarkWeaknessCost: the fleet scanned with the TLS probe alone,
//     then with the weakness probe too, then nmap's ssl-enum-ciphers (which
//     runs no weakness check): connections and servers' CPU per endpoint of
//     each scan and of the checks, and nmap's wall time over the scan with
//     them.
//   - BenchmarkOneEndpoint: one endpoint's versions, suites and certificate,
//     in process and warm, and the tlswarden command run cold (a process
//     per scan), against sslscan's wall time on the same endpoint.
//   - BenchmarkTenThousand (only with TLSWARDEN_BENCH_10K=1): 10,000
//     endpoints, for the peak RSS.
//
// Run them with -v, which keeps every logged difference; with -benchtime
// 5x the fleet is scanned five times, each scan followed by an nmap run,
// and the medians are reported:
//
//	go test -v -run '^$' -bench . -benchtime 5x -timeout 30m ./internal/fleetbench
//	TLSWARDEN_BENCH_10K=1 go test -v -run '^$' -bench TenThousand -benchtime 1x -timeout 30m ./internal/fleetbench
//
// Wall times depend on what else the machine does; each benchmark logs the
// load average. Beside them it reports what does not: connections per
// endpoint, CPU time (cpu-s/op: the scanning process's own;
// servers-cpu-s/op: the servers'; proxy-cpu-s/op: the latency proxy's,
// which shares the machine with both) and, in the private network namespace,
// the connections the servers accepted and the SYNs their listen queues
// dropped. Unprefixed metrics are tlswarden's; nmap-, sslscan- and cli-
// ones belong to the peers and to the tlswarden command run as a process.
//
// When it can (as root), the benchmark process re-executes itself in a
// private network namespace that has nothing but a loopback interface: no
// packet can leave the machine, gnutls-serv (which can only listen on the
// wildcard address) is reachable from nowhere else, and ports and the
// 127.0.0.0/8 addresses are free for the taking. Without one, it runs in
// the host's namespace with every server bound to 127.0.0.1 and leaves the
// gnutls-serv endpoints out.
//
// The package has no non-test code; this file holds its documentation.
package fleetbench
