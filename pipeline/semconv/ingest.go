package semconv

// Attributes unitcost ingest writes on a span it had to change to forward it; process
// reads them back so the change is recorded with the span.
const (
	// IngestIssues (string array) lists what ingest did to the span (captured content
	// trimmed to fit a Kafka record, usage estimated before trimming). Each entry becomes a
	// span issue.
	IngestIssues = "unitcost.ingest.issues"
	// UsageEstimated (bool) marks the span's token usage as counted by unitcost from its
	// captured content rather than reported by the instrumentation.
	UsageEstimated = "unitcost.usage.estimated"
)
