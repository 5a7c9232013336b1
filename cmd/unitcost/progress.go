package main

import (
	"fmt"
	"os"
	"time"
)

// progress prints a status line to stderr: rewritten in place on a terminal, otherwise
// (logs, CI) at most every few seconds plus the final state.
type progress struct {
	tty   bool
	last  time.Time
	every time.Duration
	open  bool
}

func newProgress() *progress {
	fi, err := os.Stderr.Stat()
	tty := err == nil && fi.Mode()&os.ModeCharDevice != 0
	every := 3 * time.Second
	if tty {
		every = 200 * time.Millisecond
	}
	return &progress{tty: tty, every: every}
}

// update prints the line if enough time passed or final is set.
func (p *progress) update(final bool, format string, args ...any) {
	if !final && time.Since(p.last) < p.every {
		return
	}
	p.last = time.Now()
	line := fmt.Sprintf(format, args...)
	if p.tty {
		fmt.Fprintf(os.Stderr, "\r\033[K%s", line)
		p.open = !final
		if final {
			fmt.Fprintln(os.Stderr)
		}
		return
	}
	fmt.Fprintln(os.Stderr, line)
}
