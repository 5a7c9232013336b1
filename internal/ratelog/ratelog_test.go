package ratelog

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestOneLinePerKeyPerInterval(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := New(slog.New(slog.NewTextHandler(&buf, nil)), time.Second)
	now := time.Unix(1000, 0)
	l.now = func() time.Time { return now }
	for i := 0; i < 5; i++ {
		l.Log(slog.LevelWarn, "a", "rejected", "reason", "a")
	}
	l.Log(slog.LevelWarn, "b", "rejected", "reason", "b")
	now = now.Add(time.Second)
	l.Log(slog.LevelWarn, "a", "rejected", "reason", "a")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 lines, got %d:\n%s", len(lines), buf.String())
	}
	if strings.Contains(lines[0], "suppressed") || !strings.Contains(lines[2], "suppressed=4") {
		t.Fatalf("suppressed counts wrong:\n%s", buf.String())
	}
}
