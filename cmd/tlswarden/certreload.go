package main

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// certReloader serves --tls-cert and --tls-key and loads them again when
// either file changes, so that a renewed certificate (every 47 days soon,
// and often by a cron job or a sidecar that only replaces the files) is
// served without a restart. A pair that does not load keeps the one
// before in service and is logged.
type certReloader struct {
	certFile, keyFile string
	every             time.Duration // least time between two looks at the files
	log               *slog.Logger
	now               func() time.Time

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   string // the files' sizes and modification times when loaded
	checked time.Time
}

func newCertReloader(certFile, keyFile string, log *slog.Logger) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, every: time.Second, log: log, now: time.Now}
	stamp, err := r.filesStamp()
	if err != nil {
		return nil, fmt.Errorf("TLS certificate: %w", err)
	}
	if err := r.load(stamp); err != nil {
		return nil, err
	}
	return r, nil
}

// GetCertificate is the tls.Config hook: it looks at the files at most
// once per r.every and reloads them when they changed.
func (r *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := r.now(); now.Sub(r.checked) >= r.every {
		r.checked = now
		if stamp, err := r.filesStamp(); err != nil {
			r.log.Warn("TLS certificate files unreadable; serving the one loaded before", "err", err)
		} else if stamp != r.stamp {
			if err := r.load(stamp); err != nil {
				r.log.Warn("TLS certificate changed but does not load; serving the one loaded before", "err", err)
			} else {
				r.log.Info("TLS certificate reloaded", "cert", r.certFile)
			}
		}
	}
	return r.cert, nil
}

// load reads the pair; the caller holds r.mu or is the constructor. A
// failed load leaves the stamp alone, so the next look tries again.
func (r *certReloader) load(stamp string) error {
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("TLS certificate: %w", err)
	}
	r.cert, r.stamp = &cert, stamp
	return nil
}

func (r *certReloader) filesStamp() (string, error) {
	var stamp string
	for _, name := range []string{r.certFile, r.keyFile} {
		fi, err := os.Stat(name)
		if err != nil {
			return "", err
		}
		stamp += fmt.Sprintf("%d/%d;", fi.Size(), fi.ModTime().UnixNano())
	}
	return stamp, nil
}
