package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Broker is a dedicated single-node Apache Kafka broker (KRaft) a test starts, stops and
// restarts itself, on ports and a data directory of its own: fault tests break it without
// touching the shared broker of deploy/local/kafka.sh. It runs the jars that script
// downloads (.unitcost/kafka/libs) with the machine's Java.
type Broker struct {
	t      testing.TB
	Addr   string
	dir    string
	libs   string
	cmd    *exec.Cmd
	exited chan struct{}
}

// repoRoot walks up from the working directory to the directory holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = up
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// DedicatedKafka formats and starts a broker of the test's own. It is stopped when the
// test ends. Under CI=true a missing Java or missing jars fail the test.
func DedicatedKafka(t testing.TB) *Broker {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	home := os.Getenv("UNITCOST_HOME")
	if home == "" {
		home = filepath.Join(root, ".unitcost")
	}
	libs := filepath.Join(home, "kafka", "libs")
	if _, err := os.Stat(filepath.Join(libs, ".complete")); err != nil {
		missing(t, "the Apache Kafka jars in "+libs, "deploy/local/kafka.sh start")
	}
	if _, err := exec.LookPath("java"); err != nil {
		missing(t, "java", "apt-get install openjdk-17-jre-headless")
	}
	port, cport := freePort(t), freePort(t)
	b := &Broker{t: t, Addr: fmt.Sprintf("127.0.0.1:%d", port), dir: t.TempDir(), libs: libs}
	props := fmt.Sprintf(`process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:%[2]d
listeners=PLAINTEXT://127.0.0.1:%[1]d,CONTROLLER://127.0.0.1:%[2]d
advertised.listeners=PLAINTEXT://127.0.0.1:%[1]d
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=%[3]s/data
num.partitions=4
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
`, port, cport, b.dir)
	if err := os.WriteFile(filepath.Join(b.dir, "server.properties"), []byte(props), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("java", "-cp", libs+"/*", "kafka.tools.StorageTool", "format", "-t", "MkU3OEVBNTcwNTJENDM2Qg",
		"-c", filepath.Join(b.dir, "server.properties")).CombinedOutput()
	if err != nil {
		t.Fatalf("format dedicated kafka: %v\n%s", err, out)
	}
	t.Cleanup(b.Stop)
	b.Start()
	return b
}

// Start starts the broker (again, keeping its data) and waits until it accepts
// connections.
func (b *Broker) Start() {
	b.t.Helper()
	root, _ := repoRoot()
	log, err := os.OpenFile(filepath.Join(b.dir, "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		b.t.Fatal(err)
	}
	b.cmd = exec.Command("java", "-Xms128m", "-Xmx512m", "-XX:+UseSerialGC", "-Djava.awt.headless=true",
		"-Dkafka.logs.dir="+b.dir, "-Dlog4j2.configurationFile="+filepath.Join(root, "deploy/kafka/log4j2.properties"),
		"-cp", b.libs+"/*", "kafka.Kafka", filepath.Join(b.dir, "server.properties"))
	b.cmd.Stdout, b.cmd.Stderr = log, log
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := b.cmd.Start(); err != nil {
		b.t.Fatalf("start dedicated kafka: %v", err)
	}
	b.exited = make(chan struct{})
	go func(c *exec.Cmd, done chan struct{}) { c.Wait(); log.Close(); close(done) }(b.cmd, b.exited)
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case <-b.exited:
			tail, _ := os.ReadFile(filepath.Join(b.dir, "stdout.log"))
			b.t.Fatalf("dedicated kafka exited at start:\n%s", lastLines(string(tail), 20))
		default:
		}
		if c, err := net.DialTimeout("tcp", b.Addr, time.Second); err == nil {
			c.Close()
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.t.Fatalf("dedicated kafka on %s not ready after 2 minutes (logs in %s)", b.Addr, b.dir)
}

// Stop stops the broker: SIGTERM, then SIGKILL after 20 s. Safe to call when stopped.
func (b *Broker) Stop() {
	if b.cmd == nil {
		return
	}
	pid := b.cmd.Process.Pid
	syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-b.exited:
	case <-time.After(20 * time.Second):
		syscall.Kill(-pid, syscall.SIGKILL)
		<-b.exited
	}
	b.cmd = nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
