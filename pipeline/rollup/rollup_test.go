package rollup

import (
	"testing"
	"time"
)

// A nil logger must not be kept: the refresher logs from its loop long after New, and a
// nil *slog.Logger there is a nil-pointer panic at the first failed refresh.
func TestNewDefaultsNilLogger(t *testing.T) {
	t.Parallel()
	r := New(Config{Interval: time.Second}, nil, nil, nil)
	if r.log == nil {
		t.Fatal("New kept a nil logger")
	}
	r.log.Debug("logging through the default logger does not panic")
}
