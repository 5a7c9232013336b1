package kafka

import (
	"context"
	"errors"
	"fmt"

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
