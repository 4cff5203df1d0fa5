package postgres

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/store"
)

var _ store.SSLv2KeyStore = (*Store)(nil)

// selectSSLv2Certs reads the certificate part of the reports of the
// endpoints that accepted SSLv2 (their oldest version, $1) in each
// target's latest scan.
const selectSSLv2Certs = `SELECT t.id, e.scan_id, e.hostname, e.address, (e.report -> 'certificate')::text
	FROM targets t
	JOIN endpoint_reports e ON e.scan_id = t.latest_scan_id
	WHERE e.min_version = $1
	ORDER BY t.id, e.ordinal`

// ListSSLv2Keys implements store.SSLv2KeyStore.
func (s *Store) ListSSLv2Keys(ctx context.Context) ([]store.SSLv2Key, error) {
	rows, err := s.pool.Query(ctx, selectSSLv2Certs, int32(tlswarden.SSLv2))
	if err != nil {
		return nil, wrap(ctx, err, "list SSLv2 keys")
	}
	defer rows.Close()
	var out []store.SSLv2Key
	for rows.Next() {
		var target, scan int64
		var host, addr string
		var cert *string
		if err := rows.Scan(&target, &scan, &host, &addr, &cert); err != nil {
			return nil, wrap(ctx, err, "list SSLv2 keys")
		}
		ap, err := netip.ParseAddrPort(addr)
		if err != nil {
			return nil, fmt.Errorf("list SSLv2 keys: endpoint address of scan %d: %w", scan, err)
		}
		var doc []byte
		if cert != nil {
			doc = []byte(*cert)
		}
		keys, err := store.SSLv2KeysOf(target, scan, tlswarden.Endpoint{Host: host, Addr: ap}, doc)
		if err != nil {
			return nil, fmt.Errorf("list SSLv2 keys: %w", err)
		}
		out = append(out, keys...)
	}
	return out, wrap(ctx, rows.Err(), "list SSLv2 keys")
}
