package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/unitcost/unitcost/pipeline/store"
)

// child is a subprocess whose CPU time and peak RSS are measured.
type child struct {
	cmd     *exec.Cmd
	log     string
	started time.Time
	done    chan struct{} // closed when the child exited; err is then its exit error
	err     error
}

func startChild(dir, name, bin string, args, env []string) (*child, error) {
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	c := &child{cmd: cmd, log: logPath, started: time.Now(), done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { c.err = cmd.Wait(); f.Close(); close(c.done) }()
	return c, nil
}

// usage is the child's CPU (user+system) and peak RSS after it exited.
func (c *child) usage() (cpu time.Duration, maxRSS int64) {
	ru, ok := c.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), ru.Maxrss * 1024
}

// stop sends SIGTERM and waits (up to a minute, then SIGKILL).
func (c *child) stop() error {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(time.Minute):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	return c.err
}

func (c *child) tail() string {
	b, _ := os.ReadFile(c.log)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// processEnv configures a `unitcost process` through UNITCOST_* variables.
func processEnv(brokers, ch []string, topic, group, db, adminAddr string) []string {
	return []string{
		"UNITCOST_KAFKA_BROKERS=" + strings.Join(brokers, ","),
		"UNITCOST_KAFKA_SPANS_TOPIC=" + topic,
		"UNITCOST_KAFKA_COLLECTOR_TOPICS=" + topic + ".collector",
		"UNITCOST_KAFKA_DEAD_LETTER_TOPIC=" + topic + ".deadletter",
		"UNITCOST_KAFKA_GROUP=" + group,
		"UNITCOST_CLICKHOUSE_ADDR=" + strings.Join(ch, ","),
		"UNITCOST_CLICKHOUSE_DATABASE=" + db,
		"UNITCOST_ADMIN_ADDR=" + adminAddr,
		"UNITCOST_LOG_LEVEL=warn",
	}
}

// freeAddr picks a free loopback port.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// waitReady polls the admin endpoint's /readyz.
func waitReady(ctx context.Context, c *child, addr string) error {
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-c.done:
			return fmt.Errorf("process exited before it was ready: %v\n%s", c.err, c.tail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// rawCounts counts rows without FINAL (cheap; replays would show as extra rows).
func rawCounts(ctx context.Context, st *store.Store) (workflows, lines uint64, err error) {
	db := st.Database()
	if err = st.Conn().QueryRow(ctx, "SELECT count() FROM "+db+".workflows").Scan(&workflows); err != nil {
		return
	}
	err = st.Conn().QueryRow(ctx, "SELECT count() FROM "+db+".line_items").Scan(&lines)
	return
}
