package semconv

// Attributes unitcost ingest writes on a span it had to change to forward it; process
// reads them back so the change is recorded with the span.
//
// They are reserved: a value a client sets on its own span would forge (or, set to
// false or empty, hide) unitcost's findings. kafka.Bound, the one path by which spans
// reach the spans topic, removes a client's value and records that it did; process
// applies them only from records Bound wrote (the kafka.HeaderOrigin header).
const (
	// IngestIssues (string array) lists what ingest did to the span (captured content
	// trimmed to fit a Kafka record, usage estimated before trimming). Each entry becomes a
	// span issue.
	IngestIssues = "unitcost.ingest.issues"
	// UsageEstimated (bool) marks the span's token usage as counted by unitcost from its
	// captured content rather than reported by the instrumentation.
	UsageEstimated = "unitcost.usage.estimated"
)

// Reserved reports whether a span attribute is one only unitcost itself writes.
func Reserved(key string) bool {
	return key == IngestIssues || key == UsageEstimated
}
