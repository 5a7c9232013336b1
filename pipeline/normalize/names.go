package normalize

import (
	sc "github.com/unitcost/unitcost/pipeline/semconv"
)

// attr says what one attribute name means: a string or numeric concept, the rank of its
// family, and an optional conversion of the value (provider spellings, span kinds).
type attr struct {
	num  bool
	s    sKey
	n    nKey
	rank int8
	conv func(string) string
	// exclusive: this input count excludes cached tokens (Vercel AI SDK <= v5).
	exclusive bool
}

func str(k sKey, rank int8) attr                            { return attr{s: k, rank: rank} }
func strConv(k sKey, rank int8, c func(string) string) attr { return attr{s: k, rank: rank, conv: c} }
func num(k nKey, rank int8) attr                            { return attr{num: true, n: k, rank: rank} }

// attrs is every plain attribute unitcost reads, by family. Names whose value needs more
// than a table entry (JSON usage, captured messages, prefixes) are read in read().
var attrs = map[string]attr{
	// unitcost's own
	sc.WorkflowName:        str(sWorkflow, rankUnitcost),
	sc.WorkflowVersion:     str(sWorkflowVersion, rankUnitcost),
	sc.WorkflowOutcome:     str(sOutcome, rankUnitcost),
	sc.OutputsValidated:    num(nValidated, rankUnitcost),
	sc.Tenant:              str(sTenant, rankUnitcost),
	sc.Team:                str(sTeam, rankUnitcost),
	sc.Feature:             str(sFeature, rankUnitcost),
	sc.ReviewRole:          str(sReviewRole, rankUnitcost),
	sc.ReviewActiveSeconds: num(nReviewActive, rankUnitcost),
	sc.ReviewQueueSeconds:  num(nReviewQueue, rankUnitcost),
	sc.ReviewOutcome:       str(sReviewOutcome, rankUnitcost),
	sc.ComputeClass:        str(sComputeClass, rankUnitcost),
	sc.StepName:            str(sStep, rankUnitcost),
	sc.ComputeShare:        num(nShare, rankUnitcost),
	sc.RetrievalUnits:      num(nUnits, rankUnitcost),
	sc.ServiceTier:         str(sServiceTier, rankUnitcost),
	sc.AudioInputTokens:    num(nAudioIn, rankUnitcost),
	sc.ImageInputTokens:    num(nImageIn, rankUnitcost),
	sc.AudioOutputTokens:   num(nAudioOut, rankUnitcost),
	sc.CacheWrite1hTokens:  num(nCacheWrite1h, rankUnitcost),

	// service tier
	"openai.response.service_tier":        str(sServiceTier, rankGenAI),
	"gen_ai.openai.response.service_tier": str(sServiceTier, rankGenAI),
	"openai.request.service_tier":         str(sServiceTier, rankOldGenAI),
	"gen_ai.openai.request.service_tier":  str(sServiceTier, rankOldGenAI),

	// provider
	sc.GenAIProviderName: str(sProvider, rankGenAI),
	sc.GenAISystem:       str(sProvider, rankOldGenAI),
	sc.LLMProvider:       strConv(sProvider, rankOther, providerFamily),
	sc.LLMSystem:         strConv(sProvider, rankOther, providerFamily),
	sc.AIModelProvider:   strConv(sProvider, rankOther, providerFamily),

	// model
	sc.GenAIResponseModel:             str(sResponseModel, rankGenAI),
	sc.GenAIRequestModel:              str(sModel, rankGenAI),
	sc.LLMModelName:                   str(sModel, rankOther),
	sc.EmbeddingModelName:             str(sModel, rankOther),
	sc.AIModelID:                      str(sModel, rankOther),
	"langfuse.observation.model.name": str(sModel, rankOther),

	// tokens: input includes cached, output includes reasoning (see Span)
	sc.GenAIInputTokens:                                     num(nInput, rankGenAI),
	sc.GenAIPromptTokens:                                    num(nInput, rankOldGenAI),
	sc.LLMTokenCountPrompt:                                  num(nInput, rankOther),
	sc.AIUsagePromptTokens:                                  {num: true, n: nInput, rank: rankOther, exclusive: true},
	sc.AIUsageInputTokens:                                   {num: true, n: nInput, rank: rankOther, exclusive: true},
	sc.GenAIOutputTokens:                                    num(nOutput, rankGenAI),
	sc.GenAICompletionTokens:                                num(nOutput, rankOldGenAI),
	sc.LLMTokenCountCompletion:                              num(nOutput, rankOther),
	sc.AIUsageCompletionTokens:                              num(nOutput, rankOther),
	sc.AIUsageOutputTokens:                                  num(nOutput, rankOther),
	sc.GenAICacheReadTokens:                                 num(nCacheRead, rankGenAI),
	sc.GenAICacheReadTokensOld:                              num(nCacheRead, rankOldGenAI),
	sc.LLMTokenCountCacheRead:                               num(nCacheRead, rankOther),
	sc.AIUsageCachedInputTokens:                             num(nCacheRead, rankOther),
	sc.GenAICacheWriteTokens:                                num(nCacheWrite, rankGenAI),
	sc.GenAICacheCreationTokens:                             num(nCacheWrite, rankRenamed),
	sc.GenAICacheCreationOld:                                num(nCacheWrite, rankOldGenAI),
	sc.LLMTokenCountCacheWrite:                              num(nCacheWrite, rankOther),
	"gen_ai.usage.cache_creation.ephemeral_1h_input_tokens": num(nCacheWrite1h, rankGenAI),
	sc.GenAIReasoningTokens:                                 num(nReasoning, rankGenAI),
	sc.GenAIReasoningTokensOld:                              num(nReasoning, rankOldGenAI),
	sc.LLMTokenCountReasoning:                               num(nReasoning, rankOther),
	sc.GenAIAudioInputTokens:                                num(nAudioIn, rankGenAI),
	"llm.token_count.prompt_details.audio":                  num(nAudioIn, rankOther),
	sc.GenAIAudioOutputTokens:                               num(nAudioOut, rankGenAI),
	"llm.token_count.completion_details.audio":              num(nAudioOut, rankOther),

	// provider-reported cost
	sc.GenAIUsageCostAmount:   num(nCost, rankGenAI),
	sc.GenAIUsageCost:         num(nCost, rankRenamed),
	sc.GenAIUsageCostCurrency: str(sCostCurrency, rankGenAI),
	sc.GenAIUsageCostSource:   str(sCostSource, rankGenAI),
	sc.LLMCostTotal:           num(nCost, rankOther),
	sc.LLMCostPrompt:          num(nCostPrompt, rankOther),
	sc.LLMCostCompletion:      num(nCostCompletion, rankOther),

	// operation
	sc.GenAIOperationName:    str(sOperation, rankGenAI),
	sc.TraceloopSpanKind:     strConv(sOperation, rankOther, traceloopKind),
	sc.LLMRequestType:        strConv(sOperation, rankOther, llmRequestType),
	sc.OpenInferenceSpanKind: strConv(sOperation, rankOther, openInferenceKind),

	// workflow and agent names
	sc.GenAIWorkflowName:     str(sWorkflow, rankGenAI),
	sc.TraceloopWorkflowName: str(sTraceloopWfl, rankOther),
	sc.TraceloopEntityName:   str(sEntity, rankOther),
	sc.GenAIAgentName:        str(sAgent, rankGenAI),
	sc.AgentName:             str(sAgent, rankOther),
	sc.GenAIToolName:         str(sTool, rankGenAI),
	"tool.name":              str(sTool, rankOther),

	// who, where
	sc.GenAIConversationID:      str(sSession, rankGenAI),
	sc.SessionID:                str(sSession, rankOther),
	"langfuse.session.id":       str(sSession, rankOther),
	sc.UserID:                   str(sUser, rankGenAI),
	sc.EndUserID:                str(sUser, rankOldGenAI),
	"langfuse.user.id":          str(sUser, rankOther),
	sc.ServiceName:              str(sService, rankGenAI),
	sc.DeploymentEnvironment:    str(sEnvironment, rankGenAI),
	sc.DeploymentEnvironmentOld: str(sEnvironment, rankOldGenAI),
	sc.DBSystemName:             str(sDBSystem, rankGenAI),
	sc.DBSystem:                 str(sDBSystem, rankOldGenAI),
}

// association maps OpenLLMetry association properties (traceloop.association.properties.X)
// onto concepts.
var association = map[string]sKey{
	"tenant": sTenant, "tenant_id": sTenant, "team": sTeam, "feature": sFeature,
	"session_id": sSession, "session": sSession, "conversation_id": sSession,
	"user_id": sUser, "user": sUser, "enduser_id": sUser,
}
