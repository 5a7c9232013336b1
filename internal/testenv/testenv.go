// Package testenv finds the real services integration tests run against: ClickHouse and
// an Apache Kafka broker started by deploy/local/*.sh, and an embedded kfake broker.
//
// When a real service is missing, a test skips locally but fails under CI=true, with a
// message that says how to start the service: CI must never pass by skipping.
package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/unitcost/unitcost/pipeline/config"
	"github.com/unitcost/unitcost/pipeline/store"
)

// Env overrides: UNITCOST_TEST_CLICKHOUSE (host:port), UNITCOST_TEST_KAFKA (host:port).
const (
	defaultClickHouse = "127.0.0.1:19000"
	defaultKafka      = "127.0.0.1:19092"
)

func missing(t testing.TB, what, how string) {
	t.Helper()
	msg := fmt.Sprintf("%s is not reachable; start it with `%s` (or run `make test`, which starts it)", what, how)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " [CI=true: integration tests never skip]")
	}
	t.Skip(msg)
}

func reachable(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// ClickHouseAddr returns the real ClickHouse address, or skips/fails the test.
func ClickHouseAddr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("UNITCOST_TEST_CLICKHOUSE")
	if addr == "" {
		addr = defaultClickHouse
	}
	if !reachable(addr) {
		missing(t, "ClickHouse at "+addr, "deploy/local/clickhouse.sh start")
	}
	return addr
}

var dbSeq atomic.Int64

// ClickHouse opens a store on a fresh, migrated database that is dropped after the test.
func ClickHouse(t testing.TB) *store.Store {
	t.Helper()
	addr := ClickHouseAddr(t)
	db := fmt.Sprintf("unitcost_test_%d_%d", time.Now().UnixNano()%1e9, dbSeq.Add(1))
	ctx := context.Background()
	s, err := store.Open(ctx, store.Config{Addr: []string{addr}, Database: db, Username: "default"})
	if err != nil {
		t.Fatalf("open clickhouse: %v", err)
	}
	if _, err := s.Migrate(ctx); err != nil {
		s.Close()
		t.Fatalf("migrate: %v", err)
	}
	t.Cleanup(func() {
		s.Conn().Exec(context.Background(), "DROP DATABASE IF EXISTS "+db)
		s.Close()
	})
	return s
}

// ClusterNodes are the two ClickHouse servers deploy/local/cluster.sh starts.
var ClusterNodes = []string{"127.0.0.1:19101", "127.0.0.1:19102"}

// Cluster creates a fresh database with the cluster variant of the schema on cluster
// (defined by deploy/local/cluster.sh) and returns a store on each node; the database is
// dropped ON CLUSTER after the test. replicaPath "" takes the default.
func Cluster(t testing.TB, cluster, replicaPath string) []*store.Store {
	t.Helper()
	for _, n := range ClusterNodes {
		if !reachable(n) {
			missing(t, "the ClickHouse cluster node "+n, "deploy/local/cluster.sh start")
		}
	}
	if replicaPath == "" {
		replicaPath = config.Defaults().ClickHouse.ReplicaPath
	}
	db := fmt.Sprintf("unitcost_cluster_%d_%d", time.Now().UnixNano()%1e9, dbSeq.Add(1))
	ctx := context.Background()
	var out []*store.Store
	for _, n := range ClusterNodes {
		s, err := store.Open(ctx, store.Config{Addr: []string{n}, Database: db, Username: "default", Cluster: cluster, ReplicaPath: replicaPath})
		if err != nil {
			t.Fatalf("open clickhouse %s: %v", n, err)
		}
		out = append(out, s)
	}
	t.Cleanup(func() {
		out[0].Conn().Exec(context.Background(), "DROP DATABASE IF EXISTS "+db+" ON CLUSTER "+cluster)
		for _, s := range out {
			s.Close()
		}
	})
	if _, err := out[0].Migrate(ctx); err != nil {
		t.Fatalf("migrate on cluster %s: %v", cluster, err)
	}
	return out
}

// KafkaBrokers returns the real Kafka broker address, or skips/fails the test.
func KafkaBrokers(t testing.TB) []string {
	t.Helper()
	addr := os.Getenv("UNITCOST_TEST_KAFKA")
	if addr == "" {
		addr = defaultKafka
	}
	if !reachable(addr) {
		missing(t, "Apache Kafka at "+addr, "deploy/local/kafka.sh start")
	}
	return strings.Split(addr, ",")
}

// Kfake starts an embedded kfake cluster for the test and returns its seed brokers.
func Kfake(t testing.TB, partitions int32) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(int(partitions)), kfake.AllowAutoTopicCreation())
	if err != nil {
		t.Fatalf("start kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

// Brokers is one Kafka implementation a suite runs against.
type Brokers struct {
	Name  string
	Addrs func(t testing.TB) []string
}

// AllKafka lists the implementations every Kafka suite runs on: kfake and real Kafka.
func AllKafka(partitions int32) []Brokers {
	return []Brokers{
		{Name: "kfake", Addrs: func(t testing.TB) []string { return Kfake(t, partitions) }},
		{Name: "kafka", Addrs: KafkaBrokers},
	}
}

// Unique returns a name unique to this test run, for topics and groups.
func Unique(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano(), dbSeq.Add(1))
}

// Config returns the default configuration pointed at brokers and the store's database,
// with topics and group unique to the test, ephemeral OTLP ports, no admin endpoint, and a
// short group session timeout (a killed member is replaced within seconds).
func Config(t testing.TB, brokers []string, st *store.Store) config.Config {
	t.Helper()
	cfg := config.Defaults()
	cfg.Kafka.Brokers = brokers
	cfg.Kafka.SpansTopic = Unique("spans")
	cfg.Kafka.DeadLetterTopic = Unique("dlq")
	cfg.Kafka.CollectorTopics = []string{Unique("otlp_spans")}
	cfg.Kafka.Group = Unique("group")
	cfg.Kafka.Partitions = 4
	cfg.Kafka.SessionTimeout = 6 * time.Second
	cfg.ClickHouse.Addr = []string{ClickHouseAddr(t)}
	cfg.ClickHouse.Database = st.Database()
	cfg.Ingest.GRPCAddr, cfg.Ingest.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Admin.Addr = ""
	return cfg
}

// Chromium returns the path of Debian's chromium for the dashboard's browser tests, or
// skips/fails the test when it is not installed.
func Chromium(t testing.TB) string {
	t.Helper()
	path := os.Getenv("UNITCOST_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		missing(t, "Chromium at "+path, "deploy/local/chromium.sh start")
	}
	return path
}

// Clients are the instrumentation clients deploy/local/venv.sh installs under .unitcost/.
type Clients struct {
	Python string // the clients virtualenv's python
	JSDir  string // node_modules' parent: run node with NODE_PATH=JSDir/node_modules
	Repo   string // the repository root (scripts are under testdata/clients)
}

// InstrumentationClients finds the Python and JS instrumentation clients, or skips/fails.
func InstrumentationClients(t testing.TB) Clients {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	repo := filepath.Join(filepath.Dir(file), "..", "..")
	home := os.Getenv("UNITCOST_HOME")
	if home == "" {
		home = filepath.Join(repo, ".unitcost")
	}
	c := Clients{Python: filepath.Join(home, "clients-venv", "bin", "python"), JSDir: filepath.Join(home, "clients-js"), Repo: repo}
	for _, p := range []string{c.Python, filepath.Join(c.JSDir, "node_modules", "@opentelemetry", "sdk-trace-base")} {
		if _, err := os.Stat(p); err != nil {
			msg := fmt.Sprintf("instrumentation clients not installed (%s); install them with deploy/local/venv.sh (make test does)", p)
			if os.Getenv("CI") == "true" {
				t.Fatal(msg + " [CI=true: integration tests never skip]")
			}
			t.Skip(msg)
		}
	}
	return c
}
