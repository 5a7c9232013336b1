// Package ratelog is a structured logger that writes a given kind of line at most once
// per interval and says how many of that kind it held back since the last one, so a
// flood of rejected requests or failed produces cannot flood the log (or slow the path
// that logs).
package ratelog

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Logger rate-limits lines per key. The zero value is not usable; use New. Safe for
// concurrent use.
type Logger struct {
	log   *slog.Logger
	every time.Duration
	now   func() time.Time

	mu    sync.Mutex
	state map[string]*keyState
}

type keyState struct {
	last       time.Time
	suppressed int
}

// New returns a Logger writing to log (nil: slog.Default()) at most one line per key per
// every (default 1s).
func New(log *slog.Logger, every time.Duration) *Logger {
	if log == nil {
		log = slog.Default()
	}
	if every <= 0 {
		every = time.Second
	}
	return &Logger{log: log, every: every, now: time.Now, state: map[string]*keyState{}}
}

// maxKeys bounds the state kept: keys are kinds of events (a reason), not request data,
// but a caller mistake must not grow memory without bound.
const maxKeys = 1024

// Log writes msg with attrs at level unless a line with the same key was written less
// than the interval ago; the next line written for key carries "suppressed": how many
// were held back in between.
func (l *Logger) Log(level slog.Level, key, msg string, attrs ...any) {
	if !l.log.Enabled(context.Background(), level) {
		return
	}
	now := l.now()
	l.mu.Lock()
	st, ok := l.state[key]
	if !ok {
		if len(l.state) >= maxKeys {
			l.state = map[string]*keyState{}
		}
		st = &keyState{}
		l.state[key] = st
	}
	if !st.last.IsZero() && now.Sub(st.last) < l.every {
		st.suppressed++
		l.mu.Unlock()
		return
	}
	suppressed := st.suppressed
	st.last, st.suppressed = now, 0
	l.mu.Unlock()
	if suppressed > 0 {
		attrs = append(attrs, "suppressed", suppressed)
	}
	l.log.Log(context.Background(), level, msg, attrs...)
}
