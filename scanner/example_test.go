package scanner_test

import (
	"context"
	"fmt"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/probes"
	"github.com/tlswarden/tlswarden/scanner"
	"github.com/tlswarden/tlswarden/testbed"
)

// Example scans one endpoint of the loopback testbed with the TLS probe and
// prints which versions it accepts.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tb, err := testbed.Start(ctx, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tb.Close()
	var target tlswarden.Target
	for _, ep := range tb.Endpoints {
		if ep.Name == "tls11" {
			target = tlswarden.Target{Host: ep.Addr.Addr().String(), Port: int(ep.Addr.Port())}
		}
	}

	sc, err := scanner.New(scanner.Config{Probes: []tlswarden.Probe{probes.TLS(probes.TLSConfig{})}})
	if err != nil {
		fmt.Println(err)
		return
	}
	report := sc.Scan(ctx, target)
	for _, v := range report.Endpoints[0].TLS.Versions {
		fmt.Printf("%s supported=%v suites=%d\n", v.Version, v.Supported, len(v.Suites))
	}
	// Output:
	// SSLv2 supported=false suites=0
	// SSLv3 supported=false suites=0
	// TLSv1.0 supported=false suites=0
	// TLSv1.1 supported=true suites=1
	// TLSv1.2 supported=true suites=2
	// TLSv1.3 supported=false suites=0
}
