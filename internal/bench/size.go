package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/unitcost/unitcost/pipeline/loadgen"
	"github.com/unitcost/unitcost/pipeline/store"
)

type roundResult struct {
	rawWall, procWall time.Duration
	rawCPU, procCPU   time.Duration
	rawRSS, procRSS   int64
	rawSrv, procSrv   time.Duration // ClickHouse server CPU (query threads) meanwhile
	cmpWall, cmpCPU   time.Duration // the -compare build's process, when given
	load              string
}

type sizeResult struct {
	workflows, spans, lineItems int
	records, bytes              int64
	rounds                      []roundResult
}

func (s sizeResult) ratioText() string {
	var parts []string
	for i, r := range s.rounds {
		parts = append(parts, fmt.Sprintf("round %d: %.2fx wall (%.1fs vs %.1fs), %.2fx CPU, %.2fx with ClickHouse's query CPU (%.1fs vs %.1fs)", i+1,
			r.procWall.Seconds()/r.rawWall.Seconds(), r.procWall.Seconds(), r.rawWall.Seconds(), r.procCPU.Seconds()/r.rawCPU.Seconds(),
			(r.procCPU+r.procSrv).Seconds()/(r.rawCPU+r.rawSrv).Seconds(), (r.procCPU+r.procSrv).Seconds(), (r.rawCPU+r.rawSrv).Seconds()))
	}
	return strings.Join(parts, "; ")
}

// size preloads a topic with n workflows and runs the rounds over it.
func (b *run) size(ctx context.Context, n int) (sizeResult, error) {
	p := func(format string, a ...any) { fmt.Fprintf(b.out, format, a...) }
	res := sizeResult{workflows: n}
	topic := fmt.Sprintf("%s_w%d", b.id, n)
	if err := b.createTopic(ctx, topic); err != nil {
		return res, err
	}
	began := time.Now()
	pr := &producer{cl: b.cl}
	lc := loadgen.Config{Seed: uint64(n), Workflows: n}
	truth, err := generate(ctx, lc, topic, 900<<10, pr.emit)
	if err == nil {
		err = pr.flush(ctx)
	}
	if err != nil {
		return res, fmt.Errorf("preload %s: %w", topic, err)
	}
	res.spans, res.lineItems, res.records, res.bytes = truth.Spans, truth.LineItems, pr.records, pr.bytes
	p("size %d workflows: preloaded %s with %d spans in %d records (%.1f MB) in %.1fs; truth: %d line items\n",
		n, topic, truth.Spans, pr.records, float64(pr.bytes)/1e6, time.Since(began).Seconds(), truth.LineItems)
	from := time.Now().Add(-72 * time.Hour)
	to := time.Now().Add(time.Duration(n)*2*time.Second + 72*time.Hour)
	for r := 1; r <= b.cfg.Rounds; r++ {
		var rr roundResult
		rr.load = LoadAvg()
		// baseline
		db := fmt.Sprintf("%s_w%d_raw%d", b.id, n, r)
		st, err := b.openStore(ctx, db)
		if err != nil {
			return res, err
		}
		if err := st.Conn().Exec(ctx, RawTableDDL(db, "raw")); err != nil {
			st.Close()
			return res, fmt.Errorf("create raw table: %w", err)
		}
		rc := RawCopyConfig{Brokers: b.cfg.Brokers, Topic: topic, Group: db, ClickHouse: b.cfg.ClickHouse, Database: db, Table: "raw",
			Records: pr.records, PollRecords: 10_000}
		srv0 := serverCPU(ctx, st)
		c, err := startChild(b.cfg.Dir, db, b.cfg.Self, []string{"raw-copy", mustJSON(rc)}, nil)
		if err != nil {
			st.Close()
			return res, err
		}
		<-c.done
		werr := c.err
		rr.rawWall = time.Since(c.started)
		rr.rawCPU, rr.rawRSS = c.usage()
		rr.rawSrv = serverCPU(ctx, st) - srv0
		if werr != nil {
			st.Close()
			return res, fmt.Errorf("raw copy: %v\n%s", werr, c.tail())
		}
		var rows, bytes uint64
		if err := st.Conn().QueryRow(ctx, "SELECT count(), sum(length(value)) FROM "+db+".raw").Scan(&rows, &bytes); err != nil {
			st.Close()
			return res, err
		}
		st.Close()
		if int64(rows) != pr.records || int64(bytes) != pr.bytes {
			return res, fmt.Errorf("raw copy wrote %d rows of %d bytes, want %d of %d", rows, bytes, pr.records, pr.bytes)
		}
		inner, _ := lastJSON[RawCopyResult](c.log)
		p("  round %d raw copy: %.2fs wall (%.2fs inside, %d inserts), %.2fs CPU = %.2f us/span, peak RSS %.0f MB; ClickHouse query CPU meanwhile %.2fs; %d rows = records (loadavg %s)\n",
			r, rr.rawWall.Seconds(), inner.Seconds, inner.Inserts, rr.rawCPU.Seconds(), us(rr.rawCPU, truth.Spans), float64(rr.rawRSS)/1e6, rr.rawSrv.Seconds(), rows, LoadAvg())

		// unitcost process
		pr1, err := b.processRound(ctx, b.cfg.Unitcost, nil, fmt.Sprintf("%s_w%d_proc%d", b.id, n, r), "process", r, topic, pr.records, truth, from, to)
		if err != nil {
			return res, err
		}
		rr.procWall, rr.procCPU, rr.procRSS, rr.procSrv = pr1.wall, pr1.cpu, pr1.rss, pr1.srv
		p("  round %d ratio process/raw: %.2fx wall, %.2fx CPU\n", r, rr.procWall.Seconds()/rr.rawWall.Seconds(), rr.procCPU.Seconds()/rr.rawCPU.Seconds())
		if b.cfg.Compare != "" {
			// Another build of unitcost, in the same round: an A/B of two builds under
			// the same load.
			pr2, err := b.processRound(ctx, b.cfg.Compare, b.cfg.CompareEnv, fmt.Sprintf("%s_w%d_cmp%d", b.id, n, r), "compare", r, topic, pr.records, truth, from, to)
			if err != nil {
				return res, err
			}
			rr.cmpWall, rr.cmpCPU = pr2.wall, pr2.cpu
			p("  round %d ratio compare/raw: %.2fx wall, %.2fx CPU; process/compare: %.2fx wall, %.2fx CPU\n", r,
				pr2.wall.Seconds()/rr.rawWall.Seconds(), pr2.cpu.Seconds()/rr.rawCPU.Seconds(),
				pr1.wall.Seconds()/pr2.wall.Seconds(), pr1.cpu.Seconds()/pr2.cpu.Seconds())
		}
		res.rounds = append(res.rounds, rr)
	}
	p("\n")
	return res, nil
}

// procRound is what one `unitcost process` drain measured.
type procRound struct {
	wall, cpu, srv time.Duration
	rss            int64
}

// processRound runs the unitcost binary bin's `process` (with the variables extra besides
// the benchmark's own) over topic into a fresh database db until every workflow and line
// item of the truth is written, then checks every total.
func (b *run) processRound(ctx context.Context, bin string, extra []string, db, label string, r int, topic string, records int64, truth *loadgen.Truth, from, to time.Time) (procRound, error) {
	p := func(format string, a ...any) { fmt.Fprintf(b.out, format, a...) }
	var res procRound
	st, err := b.openStore(ctx, db)
	if err != nil {
		return res, err
	}
	defer st.Close()
	adminAddr, err := freeAddr()
	if err != nil {
		return res, err
	}
	env := append(processEnv(b.cfg.Brokers, b.cfg.ClickHouse, topic, db, db, adminAddr), extra...)
	if b.cfg.Profile {
		env = append(env, "UNITCOST_ADMIN_PPROF=true")
	}
	srv0 := serverCPU(ctx, st)
	c, err := startChild(b.cfg.Dir, db, bin, []string{"process"}, env)
	if err != nil {
		return res, err
	}
	var profiled chan []string
	if b.cfg.Profile {
		profiled = make(chan []string, 1)
		go func() { profiled <- cpuProfiles(c, adminAddr, filepath.Join(b.cfg.Dir, db)) }()
	}
	deadline := time.Now().Add(30 * time.Minute)
	var firstRecord, allRecords time.Duration
	for {
		if allRecords == 0 {
			if n := scrape(adminAddr, "unitcost_process_records_total"); n > 0 && firstRecord == 0 {
				firstRecord = time.Since(c.started)
			} else if int64(n) >= records {
				allRecords = time.Since(c.started)
			}
		}
		w, l, err := drained(ctx, st, adminAddr, truth)
		if err == nil && w >= uint64(len(truth.Workflows)) && l >= uint64(truth.LineItems) {
			break
		}
		select {
		case <-c.done:
			return res, fmt.Errorf("%s exited: %v\n%s", label, c.err, c.tail())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.stop()
			return res, fmt.Errorf("%s did not drain within 30 minutes (%d/%d workflows, %d/%d line items)", label, w, len(truth.Workflows), l, truth.LineItems)
		}
	}
	res.wall = time.Since(c.started)
	res.srv = serverCPU(ctx, st) - srv0
	writeSum, writes := scrape(adminAddr, "unitcost_process_write_seconds_sum"), scrape(adminAddr, "unitcost_process_write_seconds_count")
	if err := c.stop(); err != nil {
		return res, fmt.Errorf("%s: %v\n%s", label, err, c.tail())
	}
	res.cpu, res.rss = c.usage()
	if profiled != nil {
		if files := <-profiled; len(files) > 0 {
			p("  round %d %s CPU profiles (5 s each, whole run): go tool pprof -top %s\n", r, label, strings.Join(files, " "))
		}
	}
	if check := b.checkTruth(ctx, st, truth, from, to); check != "" {
		return res, fmt.Errorf("%s round %d differs from the truth: %s", label, r, check)
	}
	p("  round %d %s:  %.2fs wall, %.2fs CPU = %.2f us/span, peak RSS %.0f MB; ClickHouse query CPU meanwhile %.2fs; %d workflows, %d line items and every unit-economics figure (all tenants and each) equal the truth, rollups too (loadavg %s)\n",
		r, label, res.wall.Seconds(), res.cpu.Seconds(), us(res.cpu, truth.Spans), float64(res.rss)/1e6, res.srv.Seconds(), len(truth.Workflows), truth.LineItems, LoadAvg())
	p("  round %d %s timeline: first record read at %.1fs, every record read at %.1fs, last row written at %.1fs; %.1fs in %0.f ClickHouse writes (%.0f line items per write)\n",
		r, label, firstRecord.Seconds(), allRecords.Seconds(), res.wall.Seconds(), writeSum, writes, float64(truth.LineItems)/max(writes, 1))
	return res, nil
}

// drained reports the rows in ClickHouse once the process's own counters say it wrote
// them all: polling ClickHouse all along would add the benchmark's queries to the
// server's work the round is measured with.
func drained(ctx context.Context, st *store.Store, adminAddr string, truth *loadgen.Truth) (workflows, lines uint64, err error) {
	if scrape(adminAddr, "unitcost_process_workflows_written_total") < float64(len(truth.Workflows)) ||
		scrape(adminAddr, "unitcost_process_line_items_written_total") < float64(truth.LineItems) {
		return 0, 0, nil
	}
	return rawCounts(ctx, st)
}

// serverCPU is the ClickHouse server's CPU time in query threads so far (system.events;
// background merges not included). The server is shared: other clients' queries count too.
func serverCPU(ctx context.Context, st *store.Store) time.Duration {
	var us uint64
	_ = st.Conn().QueryRow(ctx, "SELECT sum(value) FROM system.events WHERE event IN ('UserTimeMicroseconds', 'SystemTimeMicroseconds')").Scan(&us)
	return time.Duration(us) * time.Microsecond
}

// scrape reads one sample of the child's /metrics (0 when absent).
func scrape(addr, name string) float64 {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == name {
			v, _ := strconv.ParseFloat(f[1], 64)
			return v
		}
	}
	return 0
}

func us(d time.Duration, spans int) float64 { return float64(d.Microseconds()) / float64(spans) }

// lastJSON decodes the last line of a log that parses as T.
func lastJSON[T any](path string) (T, error) {
	var v T
	f, err := os.Open(path)
	if err != nil {
		return v, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var last string
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "{") {
			last = sc.Text()
		}
	}
	return v, json.Unmarshal([]byte(last), &v)
}

// cpuProfiles takes consecutive 5 s CPU profiles of a child with admin.pprof on until it
// exits, each into prefix.cpu.N.pprof; it returns the files written (`go tool pprof`
// merges several given together).
func cpuProfiles(c *child, addr, prefix string) []string {
	var files []string
	for i := 1; ; i++ {
		select {
		case <-c.done:
			return files
		default:
		}
		resp, err := http.Get("http://" + addr + "/debug/pprof/profile?seconds=5")
		if err != nil {
			select {
			case <-c.done:
				return files
			case <-time.After(20 * time.Millisecond):
			}
			i--
			continue
		}
		name := fmt.Sprintf("%s.cpu.%d.pprof", prefix, i)
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || len(b) == 0 {
			return files
		}
		if os.WriteFile(name, b, 0o644) == nil {
			files = append(files, name)
		}
	}
}
