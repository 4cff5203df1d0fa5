package fleetbench

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// counters are what the servers' side of a run costs: their CPU time and,
// in the private network namespace (where nothing else runs), the TCP
// connections they accepted and the SYNs their listen queues dropped.
type counters struct {
	serverCPU   time.Duration
	proxyCPU    time.Duration // the latency proxy's, when one runs
	accepted    uint64        // Tcp PassiveOpens
	synDrops    uint64        // TcpExt ListenDrops
	haveNetstat bool
}

// readCounters samples the counters; the difference of two samples is
// what happened in between.
func readCounters(tb testing.TB) counters {
	tb.Helper()
	servers, proxy := groupsCPU()
	c := counters{serverCPU: servers, proxyCPU: proxy}
	if !privateNetns() {
		return c
	}
	snmp, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		tb.Fatal(err)
	}
	netstat, err := os.ReadFile("/proc/net/netstat")
	if err != nil {
		tb.Fatal(err)
	}
	if c.accepted, err = netCounter(snmp, "Tcp", "PassiveOpens"); err != nil {
		tb.Fatal(err)
	}
	if c.synDrops, err = netCounter(netstat, "TcpExt", "ListenDrops"); err != nil {
		tb.Fatal(err)
	}
	c.haveNetstat = true
	return c
}

func (c counters) add(d counters) counters {
	return counters{serverCPU: c.serverCPU + d.serverCPU, proxyCPU: c.proxyCPU + d.proxyCPU, accepted: c.accepted + d.accepted, synDrops: c.synDrops + d.synDrops, haveNetstat: d.haveNetstat}
}

func (c counters) sub(d counters) counters {
	return counters{serverCPU: c.serverCPU - d.serverCPU, proxyCPU: c.proxyCPU - d.proxyCPU, accepted: c.accepted - d.accepted, synDrops: c.synDrops - d.synDrops, haveNetstat: c.haveNetstat}
}

// report adds the counters as metrics named with prefix, per run of n
// endpoints repeated runs times.
func (c counters) report(b *testing.B, prefix string, endpoints, runs int) {
	b.ReportMetric(c.serverCPU.Seconds()/float64(runs), prefix+"servers-cpu-s/op")
	if c.proxyCPU > 0 {
		b.ReportMetric(c.proxyCPU.Seconds()/float64(runs), prefix+"proxy-cpu-s/op")
	}
	if c.haveNetstat {
		b.ReportMetric(float64(c.accepted)/float64(runs*endpoints), prefix+"accepted-conns/endpoint")
		b.ReportMetric(float64(c.synDrops)/float64(runs), prefix+"syn-drops/op")
	}
}

// netCounter reads one counter from /proc/net/snmp or /proc/net/netstat,
// where each group is a line of names followed by a line of values.
func netCounter(file []byte, group, name string) (uint64, error) {
	lines := strings.Split(string(file), "\n")
	for i := 0; i+1 < len(lines); i++ {
		names, ok := strings.CutPrefix(lines[i], group+": ")
		values, ok2 := strings.CutPrefix(lines[i+1], group+": ")
		if !ok || !ok2 {
			continue
		}
		ns, vs := strings.Fields(names), strings.Fields(values)
		for j, n := range ns {
			if n == name && j < len(vs) {
				return strconv.ParseUint(vs[j], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("no %s %s counter", group, name)
}

// serverGroups holds the process groups of the running servers, and of
// the latency proxy, whose CPU is counted apart.
var serverGroups struct {
	sync.Mutex
	ids, proxies map[int]bool
}

// addProxyGroup counts a process group as the latency proxy's.
func addProxyGroup(pgid int) {
	serverGroups.Lock()
	defer serverGroups.Unlock()
	if serverGroups.proxies == nil {
		serverGroups.proxies = map[int]bool{}
	}
	serverGroups.proxies[pgid] = true
}

func addServerGroup(pgid int) {
	serverGroups.Lock()
	defer serverGroups.Unlock()
	if serverGroups.ids == nil {
		serverGroups.ids = map[int]bool{}
	}
	serverGroups.ids[pgid] = true
}

func removeServerGroup(pgid int) {
	serverGroups.Lock()
	defer serverGroups.Unlock()
	delete(serverGroups.ids, pgid)
}

// groupsCPU sums the CPU time of every process in the servers' process
// groups (nginx's workers included), and in the proxy's. Processes that
// exited are not counted, and none exits during a run.
func groupsCPU() (servers, proxy time.Duration) {
	serverGroups.Lock()
	defer serverGroups.Unlock()
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var ticks, proxyTicks uint64
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // exited meanwhile
		}
		pgrp, cpu, ok := procStat(b)
		switch {
		case !ok:
		case serverGroups.ids[pgrp]:
			ticks += cpu
		case serverGroups.proxies[pgrp]:
			proxyTicks += cpu
		}
	}
	// /proc counts in USER_HZ, which is 100 on every Linux architecture.
	const tick = time.Second / 100
	return time.Duration(ticks) * tick, time.Duration(proxyTicks) * tick
}

// procStat reads the process group and user+system CPU ticks from a
// /proc/PID/stat line; fields are counted after the parenthesised command
// name, which may itself hold spaces.
func procStat(b []byte) (pgrp int, ticks uint64, ok bool) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); pgrp is field 5, utime 14, stime 15.
	if len(f) < 13 {
		return 0, 0, false
	}
	pgrp, err1 := strconv.Atoi(f[2])
	ut, err2 := strconv.ParseUint(f[11], 10, 64)
	st, err3 := strconv.ParseUint(f[12], 10, 64)
	return pgrp, ut + st, err1 == nil && err2 == nil && err3 == nil
}
