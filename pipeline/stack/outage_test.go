package stack_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"

	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline/loadgen"
	"github.com/unitcost/unitcost/pipeline/store"
)

// dedicatedClickHouse is a ClickHouse server of this test's own (deploy/local/clickhouse.sh
// on free ports, data under a temp dir), so that the test can take it down without
// touching the shared one.
type dedicatedClickHouse struct {
	env  []string
	addr string
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startDedicatedClickHouse(t *testing.T) *dedicatedClickHouse {
	t.Helper()
	testenv.ClickHouseAddr(t) // the package is installed (or the test fails under CI with the command)
	tcp, http := freePort(t), freePort(t)
	c := &dedicatedClickHouse{
		env: append(os.Environ(), "UNITCOST_HOME="+t.TempDir(), "UNITCOST_CH_NAME=outage",
			fmt.Sprintf("UNITCOST_CH_TCP_PORT=%d", tcp), fmt.Sprintf("UNITCOST_CH_HTTP_PORT=%d", http)),
		addr: fmt.Sprintf("127.0.0.1:%d", tcp),
	}
	c.run(t, "start")
	t.Cleanup(func() { c.run(t, "stop") })
	return c
}

func (c *dedicatedClickHouse) run(t *testing.T, action string) {
	t.Helper()
	cmd := exec.Command(filepath.Join("..", "..", "deploy", "local", "clickhouse.sh"), action)
	cmd.Env = c.env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("clickhouse.sh %s: %v\n%s", action, err, out)
	}
}

// A ClickHouse outage of 12 s in the middle of the workload (a dedicated server, stopped and
// started again): process keeps retrying its writes while consumption waits, commits
// nothing it has not written, and once ClickHouse is back every figure - unit economics,
// every workflow's cost, breakdowns by team and feature, rollups - equals the ground truth.
func TestClickHouseOutageMidStream(t *testing.T) {
	ch := startDedicatedClickHouse(t)
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{Addr: []string{ch.addr}, Database: fmt.Sprintf("unitcost_outage_%d", time.Now().UnixNano()%1e9), Username: "default"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	cfg := builtinConfig(t, testenv.KafkaBrokers(t), st)
	cfg.ClickHouse.Addr = []string{ch.addr}
	cfg.Process.Stitch.OrphanQuiet = time.Second
	s := startStack(t, cfg)
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(s.Receiver.GRPCAddr()), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-2 * time.Hour).Truncate(time.Minute)
	lc := loadgen.Config{Seed: 53, Workflows: 300, Start: start}
	tp := loadgen.NewTracerProvider(exp, lc.Seed)
	var down time.Time
	truth, err := loadgen.Run(ctx, lc, tp, func(done, total int) {
		time.Sleep(5 * time.Millisecond)
		switch done {
		case 100:
			ch.run(t, "stop")
			down = time.Now()
		case 200:
			time.Sleep(time.Until(down.Add(12 * time.Second)))
			ch.run(t, "start")
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	waitCounts(t, st, uint64(len(truth.Workflows)), uint64(truth.LineItems))
	checkTruth(t, st, truth, start.Add(-time.Minute), time.Now().Add(time.Hour))
}
