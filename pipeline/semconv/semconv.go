// Package semconv names every span attribute unitcost reads, and the conventions it adds
// on top of the OpenTelemetry GenAI semantic conventions. Services import the helpers in
// mark.go to label workflows, outcomes, validated outputs and human reviews.
//
// The unitcost.* names are the contract with instrumented services: renaming one is a
// breaking change. Python and JavaScript users set the same raw names (see README).
package semconv

// Attributes unitcost adds.
const (
	// WorkflowName marks a span as the root of a workflow and names its type
	// (e.g. "invoice_extraction"). Set on the root span, or on the root of a sub-tree.
	WorkflowName = "unitcost.workflow.name"
	// WorkflowVersion is the deployed version of the workflow (prompt set, routing).
	WorkflowVersion = "unitcost.workflow.version"
	// WorkflowOutcome is the workflow's result: completed, failed, abandoned, escalated.
	WorkflowOutcome = "unitcost.workflow.outcome"
	// OutputsValidated counts outputs that passed validation (int).
	OutputsValidated = "unitcost.outputs.validated"
	// Tenant, Team and Feature label who the work was for.
	Tenant  = "unitcost.tenant"
	Team    = "unitcost.team"
	Feature = "unitcost.feature"
	// ReviewRole marks a span as human review and names the reviewer's role, which
	// selects the hourly rate.
	ReviewRole = "unitcost.review.role"
	// ReviewActiveSeconds is hands-on review time (billed); ReviewQueueSeconds is time
	// waiting for a reviewer (reported, not billed).
	ReviewActiveSeconds = "unitcost.review.active_seconds"
	ReviewQueueSeconds  = "unitcost.review.queue_seconds"
	// ReviewOutcome is approved, corrected or rejected.
	ReviewOutcome = "unitcost.review.outcome"
	// StepName names the step a span is within its workflow ("classify", "answer"): a key
	// that stays the same whichever model runs it, so the what-if can compare models on
	// one step. Without it the step is the span name (a trailing model name dropped).
	StepName = "unitcost.step"
	// ComputeClass names self-hosted compute priced by time (e.g. "gpu.a100").
	ComputeClass = "unitcost.compute.class"
	// ComputeShare is the fraction (0..1] of the compute class's node the span used, when
	// it shared the node (default 1).
	ComputeShare = "unitcost.compute.share"
	// Audio and image token counts, parts of the input/output counts.
	AudioInputTokens  = "unitcost.usage.audio_input_tokens"
	ImageInputTokens  = "unitcost.usage.image_input_tokens"
	AudioOutputTokens = "unitcost.usage.audio_output_tokens"
	// RetrievalUnits counts vector queries or documents of a retrieval span.
	RetrievalUnits = "unitcost.retrieval.units"
	// ServiceTier names the provider processing tier a call ran in when the
	// instrumentation does not (batch, flex, priority); openai.response.service_tier is
	// read too.
	ServiceTier = "unitcost.service_tier"
	// CacheWrite1hTokens is the part of the cache-write tokens written with a 1-hour
	// lifetime (Anthropic's usage.cache_creation.ephemeral_1h_input_tokens).
	CacheWrite1hTokens = "unitcost.usage.cache_write_1h_tokens"
	// OperationHumanReview is the gen_ai.operation.name value unitcost uses for review.
	OperationHumanReview = "human_review"
	// LabelPrefix starts a free-form label: unitcost.label.<key> = value.
	LabelPrefix = "unitcost.label."
)

// Outcomes.
const (
	OutcomeCompleted = "completed"
	OutcomeFailed    = "failed"
	OutcomeAbandoned = "abandoned"
	OutcomeEscalated = "escalated"
)

// OpenTelemetry GenAI semantic conventions (current names).
const (
	GenAIProviderName        = "gen_ai.provider.name"
	GenAIOperationName       = "gen_ai.operation.name"
	GenAIRequestModel        = "gen_ai.request.model"
	GenAIResponseModel       = "gen_ai.response.model"
	GenAIInputTokens         = "gen_ai.usage.input_tokens"
	GenAIOutputTokens        = "gen_ai.usage.output_tokens"
	GenAICacheReadTokens     = "gen_ai.usage.cache_read.input_tokens"
	GenAICacheWriteTokens    = "gen_ai.usage.cache_write.input_tokens"
	GenAICacheCreationTokens = "gen_ai.usage.cache_creation.input_tokens" // renamed to cache_write (2026)
	GenAIAudioInputTokens    = "gen_ai.usage.audio.input_tokens"
	GenAIAudioOutputTokens   = "gen_ai.usage.audio.output_tokens"
	GenAIReasoningTokens     = "gen_ai.usage.reasoning.output_tokens"
	GenAIWorkflowName        = "gen_ai.workflow.name"
	GenAIAgentName           = "gen_ai.agent.name"
	GenAIConversationID      = "gen_ai.conversation.id"
	GenAIToolName            = "gen_ai.tool.name"
	GenAIUsageCost           = "gen_ai.usage.cost"
	GenAIUsageCostAmount     = "gen_ai.usage.cost.amount" // proposed
	GenAIUsageCostCurrency   = "gen_ai.usage.cost.currency"
	GenAIUsageCostSource     = "gen_ai.usage.cost.source"
	GenAIInvocationInternal  = "gen_ai.invocation.internal"
	SessionID                = "session.id"
	UserID                   = "user.id"
	EndUserID                = "enduser.id"
	// The evaluation event and its attributes.
	GenAIEvaluationResult     = "gen_ai.evaluation.result"
	GenAIEvaluationName       = "gen_ai.evaluation.name"
	GenAIEvaluationScoreLabel = "gen_ai.evaluation.score.label"
	GenAIEvaluationScoreValue = "gen_ai.evaluation.score.value"
	// Operation values beyond the billable ones.
	OperationConversationTurn = "handle_conversation_turn"
)

// Resource attributes.
const (
	ServiceName              = "service.name"
	DeploymentEnvironment    = "deployment.environment.name"
	DeploymentEnvironmentOld = "deployment.environment"
	DBSystem                 = "db.system"
	DBSystemName             = "db.system.name"
)

// Deprecated GenAI names and other attribute families.
const (
	GenAISystem                = "gen_ai.system"
	GenAIPromptTokens          = "gen_ai.usage.prompt_tokens"
	GenAICompletionTokens      = "gen_ai.usage.completion_tokens"
	GenAICacheReadTokensOld    = "gen_ai.usage.cache_read_input_tokens"
	GenAICacheCreationOld      = "gen_ai.usage.cache_creation_input_tokens"
	GenAIReasoningTokensOld    = "gen_ai.usage.reasoning_tokens"
	LLMProvider                = "llm.provider"
	LLMSystem                  = "llm.system"
	LLMModelName               = "llm.model_name"
	LLMTokenCountPrompt        = "llm.token_count.prompt"
	LLMTokenCountCompletion    = "llm.token_count.completion"
	LLMTokenCountCacheRead     = "llm.token_count.prompt_details.cache_read"
	LLMTokenCountCacheWrite    = "llm.token_count.prompt_details.cache_write"
	LLMTokenCountReasoning     = "llm.token_count.completion_details.reasoning"
	LLMRequestType             = "llm.request.type"
	OpenInferenceSpanKind      = "openinference.span.kind"
	TraceloopSpanKind          = "traceloop.span.kind"
	TraceloopWorkflowName      = "traceloop.workflow.name"
	TraceloopEntityName        = "traceloop.entity.name"
	TraceloopAssociationPrefix = "traceloop.association.properties."
	AIModelProvider            = "ai.model.provider"
	AIModelID                  = "ai.model.id"
	AIUsagePromptTokens        = "ai.usage.promptTokens"
	AIUsageInputTokens         = "ai.usage.inputTokens"
	AIUsageCompletionTokens    = "ai.usage.completionTokens"
	AIUsageOutputTokens        = "ai.usage.outputTokens"
	AIUsageCachedInputTokens   = "ai.usage.cachedInputTokens"
	AgentName                  = "agent.name"
	EmbeddingModelName         = "embedding.model_name"
	LLMCostTotal               = "llm.cost.total"
	LLMCostPrompt              = "llm.cost.prompt"
	LLMCostCompletion          = "llm.cost.completion"
	LangfuseCostDetails        = "langfuse.observation.cost_details"
	LangfuseUsageDetails       = "langfuse.observation.usage_details"
)
