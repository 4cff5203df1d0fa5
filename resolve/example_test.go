package resolve_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/tlswarden/tlswarden/internal/dnstest"
	"github.com/tlswarden/tlswarden/resolve"
)

func ExampleResolver_Resolve() {
	srv, err := dnstest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	srv.Add(
		"www.example.org. 3600 IN CNAME web.example.net.",
		"web.example.net. 300 IN A 192.0.2.10",
		"web.example.net. 300 IN AAAA 2001:db8::10",
	)

	r, err := resolve.New(resolve.Config{Servers: []string{srv.Addr}})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	res, err := r.Resolve(ctx, "www.example.org")
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range res.Chain {
		fmt.Printf("%s CNAME %s (TTL %d)\n", c.Name, c.Target, c.TTL)
	}
	for _, a := range res.Addresses {
		fmt.Printf("%s (TTL %d)\n", a.Addr, a.TTL)
	}

	_, err = r.Resolve(ctx, "nope.example.org")
	var rerr *resolve.Error
	if errors.As(err, &rerr) {
		fmt.Printf("%s: %v\n", rerr.Outcome, err)
	}
	// Output:
	// www.example.org CNAME web.example.net (TTL 3600)
	// 192.0.2.10 (TTL 300)
	// 2001:db8::10 (TTL 300)
	// nxdomain: resolve nope.example.org: NXDOMAIN
}
