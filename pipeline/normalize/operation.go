package normalize

import (
	"strings"

	"github.com/unitcost/unitcost/pipeline"
)

// Span kinds of other families, as GenAI operation names.
var (
	traceloopKinds = map[string]pipeline.Operation{
		"workflow": pipeline.OpWorkflow, "agent": pipeline.OpAgent, "tool": pipeline.OpTool,
	}
	llmRequestTypes = map[string]pipeline.Operation{
		"chat": pipeline.OpChat, "completion": pipeline.OpCompletion, "embedding": pipeline.OpEmbeddings,
		"embeddings": pipeline.OpEmbeddings, "rerank": pipeline.OpRetrieval,
	}
	openInferenceKinds = map[string]pipeline.Operation{
		"LLM": pipeline.OpChat, "EMBEDDING": pipeline.OpEmbeddings, "RETRIEVER": pipeline.OpRetrieval,
		"RERANKER": pipeline.OpRetrieval, "TOOL": pipeline.OpTool, "AGENT": pipeline.OpAgent,
	}
)

func traceloopKind(k string) string     { return string(traceloopKinds[k]) }
func llmRequestType(k string) string    { return string(llmRequestTypes[k]) }
func openInferenceKind(k string) string { return string(openInferenceKinds[strings.ToUpper(k)]) }

// vectorStores are db.system values of vector databases: a span of one is a retrieval
// even when no GenAI operation names it.
var vectorStores = map[string]bool{
	"chroma": true, "chromadb": true, "pinecone": true, "qdrant": true, "weaviate": true, "milvus": true,
	"lancedb": true, "marqo": true, "pgvector": true, "turbopuffer": true, "vespa": true, "zilliz": true,
}

// modelCalls are the operations that are a model call when they carry a model.
var modelCalls = map[pipeline.Operation]bool{
	pipeline.OpChat: true, pipeline.OpCompletion: true, pipeline.OpGenerate: true, pipeline.OpEmbeddings: true, pipeline.OpOther: true,
}

// operation decides the span's operation: the named one, else what its own attributes
// show (retrieval units or a vector store; a model with token usage).
func (f *fields) operation(out *pipeline.Span) pipeline.Operation {
	op := pipeline.Operation(f.s[sOperation].v)
	if op != "" {
		return op
	}
	u := &out.Usage
	switch {
	case f.s[sReviewRole].v != "":
		return pipeline.OpHumanReview
	case f.n[nUnits].rank > 0 || vectorStores[strings.ToLower(f.s[sDBSystem].v)]:
		return pipeline.OpRetrieval
	case out.Model != "" && (u.InputTokens > 0 || u.OutputTokens > 0):
		return pipeline.OpChat
	}
	return ""
}

// providerFamily maps the provider spellings of other families onto GenAI semconv names.
func providerFamily(p string) string {
	p = strings.ToLower(p)
	switch {
	case strings.HasPrefix(p, "openai"):
		return "openai"
	case strings.HasPrefix(p, "anthropic"):
		return "anthropic"
	case strings.HasPrefix(p, "google"), p == "vertexai", p == "gemini":
		return "gcp.gemini"
	case strings.HasPrefix(p, "mistral"):
		return "mistral_ai"
	case strings.HasPrefix(p, "amazon-bedrock"), p == "bedrock":
		return "aws.bedrock"
	case strings.HasPrefix(p, "azure"):
		return "azure.ai.openai"
	}
	return p
}
