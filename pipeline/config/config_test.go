package config_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/unitcost/unitcost/pipeline/config"
)

func TestLayering(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "unitcost.yaml")
	os.WriteFile(path, []byte(`
kafka:
  brokers: [file:9092]
  group: from-file
clickhouse:
  password: ${CH_PASS}
process:
  stitch:
    quiet_period: 3s
`), 0o600)
	env := []string{"CH_PASS=s3cret", "UNITCOST_KAFKA_GROUP=from-env", "UNITCOST_INGEST_TOKENS=t1=acme,t2=globex"}
	c, err := config.Load(path, env, map[string]string{"kafka.brokers": "flag:9092,flag2:9092"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.Kafka.Brokers, ","); got != "flag:9092,flag2:9092" {
		t.Errorf("brokers = %s (flag must win)", got)
	}
	if c.Kafka.Group != "from-env" {
		t.Errorf("group = %s (env must beat file)", c.Kafka.Group)
	}
	if c.ClickHouse.Password != "s3cret" {
		t.Errorf("password = %q (${ENV} expansion)", c.ClickHouse.Password)
	}
	if c.Process.Stitch.QuietPeriod != 3*time.Second {
		t.Errorf("quiet period = %v", c.Process.Stitch.QuietPeriod)
	}
	if c.Ingest.Tokens["t2"] != "globex" || len(c.Ingest.Tokens) != 2 {
		t.Errorf("tokens = %v", c.Ingest.Tokens)
	}
	if c.Kafka.SpansTopic != "unitcost.spans" {
		t.Errorf("default spans topic lost: %q", c.Kafka.SpansTopic)
	}
	if strings.Contains(c.YAML(), "s3cret") {
		t.Error("config show leaks the password")
	}
}

func TestValidateNamesEveryBadField(t *testing.T) {
	t.Parallel()
	env := []string{"UNITCOST_KAFKA_BROKERS=", "UNITCOST_CLICKHOUSE_DATABASE=bad-name", "UNITCOST_LOG_LEVEL=loud",
		"UNITCOST_KAFKA_SASL_MECHANISM=GSSAPI", "UNITCOST_PROCESS_FLUSH_INTERVAL=-1s"}
	_, err := config.Load("", env, nil)
	if err == nil {
		t.Fatal("want error")
	}
	for _, want := range []string{"kafka.brokers", "clickhouse.database", "log_level", "kafka.sasl.mechanism", "process.flush_interval"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
}

func TestBadValuesAndUnknownFlags(t *testing.T) {
	t.Parallel()
	_, err := config.Load("", []string{"UNITCOST_KAFKA_PARTITIONS=many"}, map[string]string{"kafka.nope": "1"})
	if err == nil || !strings.Contains(err.Error(), "UNITCOST_KAFKA_PARTITIONS") || !strings.Contains(err.Error(), "--kafka.nope") {
		t.Fatalf("got %v", err)
	}
}

func TestFileErrorsNameTheKeyAllAtOnce(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(path, []byte(`kafka:
  brokerz: [a:1]
  partitions: many
process:
  limits:
    maxtokens: 5
  flush_interval: soon
clickhouse:
  password: ${NOT_SET_ANYWHERE}
  username: ${NOT_SET_EITHER:-fallback}
log_level: loud
`), 0o600)
	r, err := config.LoadSources(config.Sources{File: path, Environ: []string{"UNITCOST_PROCESS_LIMITS_MAXTOKENS=4", "UNITCOST_HOME=/x"}})
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{
		path + ":2: kafka.brokerz: no such setting (did you mean kafka.brokers?)",
		path + `:3: kafka.partitions: "many" is not an integer`,
		path + ":6: process.limits.maxtokens: no such setting (did you mean process.limits.max_tokens?)",
		path + `:7: process.flush_interval: "soon" is not a duration`,
		path + ":9: ${NOT_SET_ANYWHERE} is not set",
		`log_level: "loud"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if r.Config.ClickHouse.Username != "fallback" {
		t.Errorf("${VAR:-fallback} = %q", r.Config.ClickHouse.Username)
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "UNITCOST_PROCESS_LIMITS_MAXTOKENS is set but is not a setting") ||
		!strings.Contains(r.Warnings[0], "did you mean UNITCOST_PROCESS_LIMITS_MAX_TOKENS?") {
		t.Errorf("warnings = %q", r.Warnings)
	}
}

func TestRoleDefaultsGiveDistinctAdminPorts(t *testing.T) {
	t.Parallel()
	seen := map[string]string{}
	for _, role := range []string{"ingest", "process", "api", "alert", "dev"} {
		a := config.RoleDefaults(role).Admin.Addr
		if other, dup := seen[a]; dup {
			t.Errorf("%s and %s share admin address %s", role, other, a)
		}
		seen[a] = role
	}
}

// Outcome rules and label mappings are settings like any other: a YAML list in the file,
// a YAML value in a variable, every bad rule reported.
func TestOutcomeRulesAndLabels(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "unitcost.yaml")
	os.WriteFile(path, []byte(`
process:
  outcome:
    on_ok: none
    rules:
      - {attribute: app.ticket.resolved, equals: "true", outcome: completed}
      - {evaluation: faithfulness, min_score: 0.8, validated: 1}
  labels: {app.customer_tier: tier}
`), 0o600)
	c, err := config.Load(path, []string{"UNITCOST_PROCESS_OUTCOME_ON_ERROR=escalated"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	o := c.Process.Outcome
	if o.OnOK != "none" || o.OnError != "escalated" || len(o.Rules) != 2 || o.Rules[0].Outcome != "completed" ||
		o.Rules[1].MinScore == nil || *o.Rules[1].MinScore != 0.8 || c.Process.Labels["app.customer_tier"] != "tier" {
		t.Fatalf("outcome %+v labels %v", o, c.Process.Labels)
	}
	_, err = config.Load("", []string{`UNITCOST_PROCESS_OUTCOME_RULES=[{attribute: a, outcome: succeeded}, {evaluation: e}]`}, nil)
	if err == nil || !strings.Contains(err.Error(), "rules[0].outcome") || !strings.Contains(err.Error(), "rules[1]: set outcome or validated") {
		t.Fatalf("bad rules: %v", err)
	}
}

// A token or tenant left empty by an unset ${VAR} would open ingest (spans choose their
// tenant) or the API (every tenant visible): validation refuses both, naming the setting.
func TestEmptyTokensAndTenantsAreRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "unitcost.yaml")
	os.WriteFile(path, []byte(`
ingest:
  tokens:
    "${TOKEN_ACME}": acme
    tok-e: "${TENANT_E}"
api:
  tokens: {api-tok: "${TENANT_API}"}
`), 0o600)
	_, err := config.Load(path, nil, nil)
	if err == nil {
		t.Fatal("want error")
	}
	for _, want := range []string{"ingest.tokens: a token is empty", "ingest.tokens: the token ending", "api.tokens: the token ending"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "tok-e") || strings.Contains(err.Error(), "api-tok") {
		t.Errorf("error shows a whole token:\n%v", err)
	}
	c, err := config.Load("", []string{"UNITCOST_INGEST_TOKENS=t1=acme", "UNITCOST_ADMIN_METRICS_TOKEN=m3trics"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(c.YAML(), "m3trics") {
		t.Error("config show leaks the metrics token")
	}
	if _, err := config.Load("", []string{"UNITCOST_INGEST_TLS_CERT_FILE=/x.pem", "UNITCOST_API_TLS_CLIENT_CA_FILE=/ca.pem"}, nil); err == nil ||
		!strings.Contains(err.Error(), "ingest.tls.cert_file and ingest.tls.key_file") || !strings.Contains(err.Error(), "api.tls.client_ca_file") {
		t.Errorf("TLS settings: %v", err)
	}
}

// R1-2: max_inflight_bytes must hold the largest valid request (a body of
// max_request_bytes, one byte of slack, its strings and 88 B per value), else that request
// would be refused even on an idle receiver. The bound is exact.
func TestInflightBudgetHoldsTheLargestValidRequest(t *testing.T) {
	t.Parallel()
	base := []string{"UNITCOST_INGEST_MAX_REQUEST_BYTES=1048576", "UNITCOST_INGEST_MAX_REQUEST_VALUES=1000"}
	need := 2*1048576 + 1 + 88*1000
	for budget, ok := range map[int]bool{need: true, need - 1: false, 2 * 1048576: false} {
		env := append(append([]string(nil), base...), "UNITCOST_INGEST_MAX_INFLIGHT_BYTES="+strconv.Itoa(budget))
		_, err := config.Load("", env, nil)
		if got := err == nil; got != ok {
			t.Errorf("max_inflight_bytes %d (need %d): error %v, want ok=%v", budget, need, err, ok)
		}
		if err != nil && !strings.Contains(err.Error(), "ingest.max_inflight_bytes") {
			t.Errorf("error does not name ingest.max_inflight_bytes: %v", err)
		}
	}
	if _, err := config.Load("", nil, nil); err != nil { // the defaults
		t.Errorf("defaults: %v", err)
	}
}

// R1-1: process.trust_unstamped_before is an RFC 3339 time, none by default, and never in
// the future (unstamped records written until then would be trusted).
func TestTrustUnstampedBefore(t *testing.T) {
	t.Parallel()
	c, err := config.Load("", nil, nil)
	if err != nil || !c.Process.TrustUnstampedBefore.IsZero() {
		t.Fatalf("default: %v %v", c.Process.TrustUnstampedBefore, err)
	}
	c, err = config.Load("", []string{"UNITCOST_PROCESS_TRUST_UNSTAMPED_BEFORE=2026-11-30T12:00:00Z"}, nil)
	if err != nil || !c.Process.TrustUnstampedBefore.Equal(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)) {
		t.Fatalf("set: %v %v", c.Process.TrustUnstampedBefore, err)
	}
	_, err = config.Load("", []string{"UNITCOST_PROCESS_TRUST_UNSTAMPED_BEFORE=2999-01-01T00:00:00Z"}, nil)
	if err == nil || !strings.Contains(err.Error(), "process.trust_unstamped_before") {
		t.Fatalf("future cut-over: %v", err)
	}
}
