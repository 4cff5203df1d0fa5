package fleetbench

import (
	"encoding/xml"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/iana"
)

// suiteSets holds the suites one scanner found on one endpoint, per
// version it reports as supported.
type suiteSets map[tlswarden.Version][]uint16

// peerRun is one run of a peer scanner: how long it took and what it found
// per endpoint. Endpoints it said nothing about are absent.
type peerRun struct {
	Wall  time.Duration
	CPU   time.Duration // the peer process's own CPU time
	Found map[netip.AddrPort]suiteSets
	// Unknown lists suite names that could not be mapped to code points.
	Unknown []string
}

// runNmap times nmap's ssl-enum-ciphers over every endpoint of one address
// (one nmap invocation, as one would run it on a fleet) and returns its
// wall and CPU time and its XML, unparsed: parsing waits until the
// scanner's memory is no longer being measured.
func runNmap(tb testing.TB, addr netip.Addr, eps []endpoint) (wall, cpu time.Duration, xml []byte) {
	tb.Helper()
	bin := lookPath(tb, "nmap")
	ports := make([]string, 0, len(eps))
	for _, e := range eps {
		if e.Addr.Addr() != addr {
			tb.Fatalf("nmap run over %s given endpoint %s", addr, e.Addr)
		}
		ports = append(ports, strconv.Itoa(int(e.Addr.Port())))
	}
	out := filepath.Join(tb.TempDir(), "nmap.xml")
	args := []string{"-T4", "-Pn", "-n", "-p", strings.Join(ports, ","), "--script", "ssl-enum-ciphers", "-oX", out, addr.String()}
	wall, cpu, log := timeCommand(tb, bin, args...)
	raw, err := os.ReadFile(out)
	if err != nil {
		tb.Fatalf("nmap wrote no XML: %v\n%s", err, log)
	}
	return wall, cpu, raw
}

// runSSLScan times sslscan's default scan of one endpoint (protocols,
// suites, groups, certificate, renegotiation, compression, Heartbleed) and
// reads the suites from its XML.
func runSSLScan(tb testing.TB, ep netip.AddrPort) *peerRun {
	tb.Helper()
	bin := lookPath(tb, "sslscan")
	out := filepath.Join(tb.TempDir(), "sslscan.xml")
	wall, cpu, log := timeCommand(tb, bin, "--no-colour", "--xml="+out, ep.String())
	raw, err := os.ReadFile(out)
	if err != nil {
		tb.Fatalf("sslscan wrote no XML: %v\n%s", err, log)
	}
	sets, err := parseSSLScanXML(raw)
	if err != nil {
		tb.Fatalf("sslscan XML: %v", err)
	}
	return &peerRun{Wall: wall, CPU: cpu, Found: map[netip.AddrPort]suiteSets{ep: sets}}
}

// timeCommand runs a command to completion and returns its wall time, CPU
// time and output; a failure to run fails tb.
func timeCommand(tb testing.TB, bin string, args ...string) (wall, cpu time.Duration, out []byte) {
	tb.Helper()
	cmd := exec.Command(bin, args...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	wall = time.Since(start)
	if err != nil {
		tb.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, out)
	}
	return wall, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), out
}

// nmapXML is the part of nmap's -oX output the comparison needs: per port,
// the ssl-enum-ciphers tables {"TLSv1.2": {"ciphers": [{"name": ...}]}}.
type nmapXML struct {
	Hosts []struct {
		Addrs []struct {
			Addr string `xml:"addr,attr"`
		} `xml:"address"`
		Ports []struct {
			ID      uint16 `xml:"portid,attr"`
			Scripts []struct {
				ID     string      `xml:"id,attr"`
				Tables []nmapTable `xml:"table"`
			} `xml:"script"`
		} `xml:"ports>port"`
	} `xml:"host"`
}

type nmapTable struct {
	Key    string      `xml:"key,attr"`
	Tables []nmapTable `xml:"table"`
	Elems  []struct {
		Key   string `xml:"key,attr"`
		Value string `xml:",chardata"`
	} `xml:"elem"`
}

func parseNmapXML(raw []byte) (*peerRun, error) {
	var doc nmapXML
	if err := xml.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	run := &peerRun{Found: map[netip.AddrPort]suiteSets{}}
	for _, h := range doc.Hosts {
		if len(h.Addrs) == 0 {
			continue
		}
		addr, err := netip.ParseAddr(h.Addrs[0].Addr)
		if err != nil {
			return nil, err
		}
		for _, p := range h.Ports {
			for _, s := range p.Scripts {
				if s.ID == "ssl-enum-ciphers" {
					run.Found[netip.AddrPortFrom(addr, p.ID)] = run.nmapSuites(s.Tables)
				}
			}
		}
	}
	return run, nil
}

// nmapSuites reads the per-version tables of one port's script output.
func (run *peerRun) nmapSuites(tables []nmapTable) suiteSets {
	sets := suiteSets{}
	for _, vt := range tables {
		var v tlswarden.Version
		if v.UnmarshalText([]byte(vt.Key)) != nil {
			continue // "least strength" and the like
		}
		sets[v] = []uint16{}
		for _, ct := range vt.Tables {
			if ct.Key != "ciphers" {
				continue
			}
			for _, c := range ct.Tables {
				for _, e := range c.Elems {
					if e.Key == "name" {
						sets[v] = run.addSuite(sets[v], e.Value)
					}
				}
			}
		}
		slices.Sort(sets[v])
	}
	return sets
}

func (run *peerRun) addSuite(codes []uint16, name string) []uint16 {
	code, ok := suiteCode(name)
	if !ok {
		run.Unknown = append(run.Unknown, name)
		return codes
	}
	return append(codes, code)
}

// suiteCode maps a peer's IANA suite name to its code point. nmap names the
// TLS 1.3 suites TLS_AKE_WITH_*, after their authenticated key exchange.
func suiteCode(name string) (uint16, bool) {
	name = strings.Replace(name, "TLS_AKE_WITH_", "TLS_", 1)
	code, ok := suitesByName()[name]
	return code, ok
}

var suitesByName = sync.OnceValue(func() map[string]uint16 {
	m := map[string]uint16{}
	for _, s := range iana.Suites() {
		m[s.Name] = s.Code
	}
	return m
})

// sslscanXML is sslscan's --xml output: one element per accepted suite,
// with its code point.
type sslscanXML struct {
	Tests []struct {
		Protocols []struct {
			Type    string `xml:"type,attr"`
			Version string `xml:"version,attr"`
			Enabled string `xml:"enabled,attr"`
		} `xml:"protocol"`
		Ciphers []struct {
			Version string `xml:"sslversion,attr"`
			ID      string `xml:"id,attr"`
		} `xml:"cipher"`
	} `xml:"ssltest"`
}

func parseSSLScanXML(raw []byte) (suiteSets, error) {
	var doc sslscanXML
	if err := xml.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	if len(doc.Tests) != 1 {
		return nil, fmt.Errorf("%d ssltest elements, want 1", len(doc.Tests))
	}
	sets := suiteSets{}
	for _, p := range doc.Tests[0].Protocols {
		var v tlswarden.Version
		name := map[string]string{"ssl": "SSLv", "tls": "TLSv"}[p.Type] + p.Version
		if p.Enabled == "1" && v.UnmarshalText([]byte(name)) == nil {
			sets[v] = []uint16{}
		}
	}
	for _, c := range doc.Tests[0].Ciphers {
		var v tlswarden.Version
		if err := v.UnmarshalText([]byte(c.Version)); err != nil {
			return nil, err
		}
		code, err := strconv.ParseUint(strings.TrimPrefix(c.ID, "0x"), 16, 16)
		if err != nil {
			return nil, fmt.Errorf("sslscan cipher id %q: %w", c.ID, err)
		}
		sets[v] = append(sets[v], uint16(code))
	}
	for v := range sets {
		slices.Sort(sets[v])
	}
	return sets, nil
}
