package kafka

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// EnsureTopics creates the spans, dead-letter and collector topics when missing. Existing
// topics are left as they are (their partition count is the operator's choice).
func EnsureTopics(ctx context.Context, cl *kgo.Client, c Config) error {
	adm := kadm.NewClient(cl)
	topics := append([]string{c.SpansTopic, c.DeadLetterTopic}, c.CollectorTopics...)
	resp, err := adm.CreateTopics(ctx, c.Partitions, c.ReplicationFactor, nil, topics...)
	if err != nil {
		return fmt.Errorf("create topics %v on %v: %w (is Kafka running? deploy/local/kafka.sh start)", topics, c.Brokers, err)
	}
	var errs []error
	for _, r := range resp.Sorted() {
		if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
			errs = append(errs, fmt.Errorf("create topic %s: %w", r.Topic, r.Err))
		}
	}
	return errors.Join(errs...)
}

// recordOverhead is what a record batch adds around one record's key and value (batch
// header, record framing, headers), with room to spare.
const recordOverhead = 16 << 10

// RecordLimit returns the largest record value ingest should produce to topic: the
// configured limit, lowered to fit the topic's max.message.bytes (which the broker's
// message.max.bytes sets by default) when that is smaller.
func RecordLimit(ctx context.Context, cl *kgo.Client, topic string, configured int) (int, error) {
	adm := kadm.NewClient(cl)
	rcs, err := adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		return configured, fmt.Errorf("describe topic %s: %w", topic, err)
	}
	rc, err := rcs.On(topic, nil)
	if err != nil {
		return configured, fmt.Errorf("describe topic %s: %w", topic, err)
	}
	if rc.Err != nil {
		return configured, fmt.Errorf("describe topic %s: %w", topic, rc.Err)
	}
	for _, c := range rc.Configs {
		if c.Key != "max.message.bytes" || c.Value == nil {
			continue
		}
		n, err := strconv.Atoi(*c.Value)
		if err != nil {
			return configured, fmt.Errorf("topic %s max.message.bytes %q: %w", topic, *c.Value, err)
		}
		if n-recordOverhead < configured && n > 2*recordOverhead {
			return n - recordOverhead, nil
		}
	}
	return configured, nil
}
