package main

import (
	"fmt"
	"io"
	"time"

	"github.com/tlswarden/tlswarden"
)

// progress prints a one-line status on stderr while a long run goes on.
type progress struct {
	on           bool
	w            io.Writer
	total, count int
	failed       int
	start, last  time.Time
}

func newProgress(on bool, total int, w io.Writer) *progress {
	return &progress{on: on, w: w, total: total, start: time.Now()}
}

func (p *progress) done(r *tlswarden.Report) {
	p.count++
	if !r.Scanned() {
		p.failed++
	}
	if !p.on || time.Since(p.last) < 200*time.Millisecond && p.count < p.total {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(p.w, "\r%d/%d targets scanned, %d with errors, %s", p.count, p.total, p.failed, time.Since(p.start).Round(time.Second))
}

func (p *progress) finish() {
	if p.on {
		fmt.Fprintln(p.w)
	}
}
