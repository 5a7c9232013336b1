package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/twmb/franz-go/pkg/kgo"
)

// RawCopyConfig is the baseline: copy a topic's records into a ClickHouse table.
type RawCopyConfig struct {
	Brokers     []string `json:"brokers"`
	Topic       string   `json:"topic"`
	Group       string   `json:"group"`
	ClickHouse  []string `json:"clickhouse"`
	Database    string   `json:"database"`
	Table       string   `json:"table"`
	Records     int64    `json:"records"`      // stop after this many
	PollRecords int      `json:"poll_records"` // records per poll, as process.poll_records
}

// RawCopyResult is what the copy measured from inside.
type RawCopyResult struct {
	Records int64   `json:"records"`
	Bytes   int64   `json:"bytes"`
	Inserts int     `json:"inserts"`
	Seconds float64 `json:"seconds"` // first poll to last commit
}

// RawTableDDL creates the baseline's table: one row per record.
func RawTableDDL(db, table string) string {
	return "CREATE TABLE IF NOT EXISTS " + db + "." + table +
		" (topic String, partition Int32, offset Int64, key String, value String) ENGINE = MergeTree ORDER BY (topic, partition, offset)"
}

// RawCopy is the baseline `process` is measured against: the simplest correct Kafka to
// ClickHouse copy with the same delivery guarantee - a franz-go group consumer polls, one
// ClickHouse row per record is inserted (a batch per poll, acknowledged), and only then
// are the poll's offsets committed. No decoding, no state.
func RawCopy(ctx context.Context, c RawCopyConfig) (RawCopyResult, error) {
	var res RawCopyResult
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: c.ClickHouse, Auth: clickhouse.Auth{Database: c.Database, Username: "default"}})
	if err != nil {
		return res, fmt.Errorf("clickhouse: %w", err)
	}
	defer conn.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Brokers...), kgo.ConsumerGroup(c.Group), kgo.ConsumeTopics(c.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	if err != nil {
		return res, fmt.Errorf("kafka: %w", err)
	}
	defer cl.Close()
	began := time.Now()
	for res.Records < c.Records {
		fs := cl.PollRecords(ctx, c.PollRecords)
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if err := fs.Err0(); err != nil {
			return res, fmt.Errorf("poll: %w", err)
		}
		recs := fs.Records()
		if len(recs) == 0 {
			continue
		}
		b, err := conn.PrepareBatch(ctx, "INSERT INTO "+c.Database+"."+c.Table+" (topic, partition, offset, key, value)")
		if err != nil {
			return res, fmt.Errorf("prepare insert: %w", err)
		}
		for _, r := range recs {
			if err := b.Append(r.Topic, r.Partition, r.Offset, string(r.Key), string(r.Value)); err != nil {
				return res, fmt.Errorf("append: %w", err)
			}
			res.Bytes += int64(len(r.Value))
		}
		if err := b.Send(); err != nil {
			return res, fmt.Errorf("insert: %w", err)
		}
		res.Inserts++
		// Commit after the insert is acknowledged, as process does.
		if err := cl.CommitRecords(ctx, recs...); err != nil {
			return res, fmt.Errorf("commit: %w", err)
		}
		res.Records += int64(len(recs))
	}
	res.Seconds = time.Since(began).Seconds()
	return res, nil
}
