package whatif

import (
	"errors"

	"github.com/unitcost/unitcost/pipeline"
)

// Options shape one analysis.
type Options struct {
	Pricer Pricer
	// Scenarios are evaluated beside the candidates found in the data (a model never
	// observed on a step, a service tier, user-supplied rates).
	Scenarios []Scenario
	// MinSamples is the cohort size below which a routing has too few samples to be
	// recommended (its range is still shown). Default 30.
	MinSamples uint64
	// MaxCandidates caps the routings enumerated from the data. Default 64.
	MaxCandidates int
}

// Scenario is a routing to evaluate: step key -> change.
type Scenario struct {
	Name    string
	Changes map[string]Change
	// Assumed replaces the observed rates (from an offline evaluation, say); the result
	// is labelled "user-supplied".
	Assumed *Assumed
}

// Assumed are user-supplied rates for a scenario. Zero fields take the observed pooled
// figure of the workflow type.
type Assumed struct {
	ReviewRate           float64 `json:"review_rate"`
	ValidatedPerWorkflow float64 `json:"validated_per_workflow,omitempty"`
	CompletionRate       float64 `json:"completion_rate,omitempty"`
}

// Rates source labels.
const (
	SourceObserved = "observed"
	SourceUser     = "user-supplied"
)

// StepChange is one step of a routing, for output.
type StepChange struct {
	Step        string `json:"step"`
	Model       string `json:"model"`
	ServiceTier string `json:"service_tier"`
}

// Evaluation is the expected unit cost of one routing.
type Evaluation struct {
	Routing     string       `json:"routing"`
	Changes     []StepChange `json:"changes"`
	RatesSource string       `json:"rates_source"`
	// Samples is the cohort size the rates come from; EnoughData says whether it reaches
	// min_samples and every re-priced call has a price (only then may it be recommended).
	Samples    uint64 `json:"samples"`
	EnoughData bool   `json:"enough_data"`
	// MachineCostNano is the machine cost of all the window's workflows of the type under
	// the routing: model calls priced again plus the recorded compute, retrieval and tools.
	MachineCostNano    int64      `json:"machine_cost_nano"`
	MachineCostUSD     string     `json:"machine_cost_usd"`
	MachinePerWorkflow MoneyRange `json:"machine_cost_per_workflow"`
	ReviewPerWorkflow  MoneyRange `json:"review_cost_per_workflow"`
	PerWorkflow        MoneyRange `json:"cost_per_workflow"`
	PerCompleted       MoneyRange `json:"cost_per_completed"`
	PerValidated       MoneyRange `json:"cost_per_validated_output"`
	ReviewRate         Rate       `json:"review_rate"`
	ReviewHoursPer1000 Range      `json:"review_hours_per_1000_workflows"`
	// EstimatedLines were carried to a model of another tokenizer family 1:1;
	// UnpricedLines have no price under the book (their cost is missing).
	EstimatedLines uint64   `json:"estimated_lines"`
	UnpricedLines  uint64   `json:"unpriced_lines"`
	Notes          []string `json:"notes"`

	perValidated Interval
	perValPoint  pipeline.Money
	machine      pipeline.Money
	hours        float64
}

// ModelStats are one model's figures at one step: its share of the step's calls and
// the rates of the workflows that ran the step on it alone.
type ModelStats struct {
	Model          string   `json:"model"`
	Provider       string   `json:"provider"`
	Calls          uint64   `json:"calls"`
	ShareOfCalls   float64  `json:"share_of_calls"`
	CostNano       int64    `json:"cost_nano"`
	CostUSD        string   `json:"cost_usd"`
	TokenizerModel string   `json:"tokenizer_family"`
	Rates          RateCard `json:"rates"`
}

// RateCard is the quality effect observed for a cohort of workflows.
type RateCard struct {
	Workflows            uint64     `json:"workflows"`
	ReviewRate           Rate       `json:"review_rate"`
	EscalationRate       Rate       `json:"escalation_rate"`
	FailureRate          Rate       `json:"failure_rate"`
	CompletionRate       Rate       `json:"completion_rate"`
	RetryRate            Rate       `json:"retry_rate"`
	ValidatedPerWorkflow Range      `json:"validated_outputs_per_workflow"`
	ReviewCostPerReview  MoneyRange `json:"review_cost_per_reviewed_workflow"`
}

// Step is one step of the workflow type with its models.
type Step struct {
	Step      string       `json:"step"`
	Operation string       `json:"operation"`
	Calls     uint64       `json:"calls"`
	Models    []ModelStats `json:"models"`
}

// ContextStep is the context what-if of one step.
type ContextStep struct {
	Step          string `json:"step"`
	Calls         uint64 `json:"calls"`
	CallsWithMix  uint64 `json:"calls_with_token_mix"`
	ContextTokens uint64 `json:"context_tokens"`
	InputTokens   uint64 `json:"input_tokens"`
	CostNano      int64  `json:"cost_nano"`
	CostUSD       string `json:"cost_usd"`
	CutCostNano   int64  `json:"cut_cost_nano"`
	CutCostUSD    string `json:"cut_cost_usd"`
	SavingNano    int64  `json:"saving_nano"`
	SavingUSD     string `json:"saving_usd"`
}

// ContextCut is the cost if retrieved context were cut by Percent.
type ContextCut struct {
	Percent float64       `json:"percent"`
	Steps   []ContextStep `json:"steps"`
	// Saving over every step, and per validated output of the window.
	SavingNano             int64  `json:"saving_nano"`
	SavingUSD              string `json:"saving_usd"`
	SavingPerValidatedNano int64  `json:"saving_per_validated_output_nano"`
	SavingPerValidatedUSD  string `json:"saving_per_validated_output_usd"`
	Note                   string `json:"note"`
}

// Recommendation is the routing with the lowest expected cost per validated output.
type Recommendation struct {
	Routing           string       `json:"routing"`
	Changes           []StepChange `json:"changes"`
	PerValidated      MoneyRange   `json:"cost_per_validated_output"`
	CurrentPerValid   MoneyRange   `json:"current_cost_per_validated_output"`
	ValidatedPerMonth uint64       `json:"validated_outputs_per_month"`
	SavingNano        int64        `json:"saving_per_month_nano"`
	SavingUSD         string       `json:"saving_per_month_usd"`
	Confidence        string       `json:"confidence"` // clear, uncertain, no_alternative, none
	Why               string       `json:"why"`
}

// Report is the what-if of one workflow type over a window.
type Report struct {
	Workflow         string `json:"workflow"`
	Tenant           string `json:"tenant"`
	From             string `json:"from"`
	To               string `json:"to"`
	Currency         string `json:"currency"`
	PriceVersion     string `json:"price_version"` // "" = in effect at each call
	CachePolicy      string `json:"cache_policy"`
	Workflows        uint64 `json:"workflows"`
	ValidatedOutputs uint64 `json:"validated_outputs"`
	// The model calls' cost as billed, and priced again with the book (as recorded).
	RecordedModelCostNano int64          `json:"recorded_model_cost_nano"`
	RecordedModelCostUSD  string         `json:"recorded_model_cost_usd"`
	RepricedModelCostNano int64          `json:"repriced_model_cost_nano"`
	RepricedModelCostUSD  string         `json:"repriced_model_cost_usd"`
	MinSamples            uint64         `json:"min_samples"`
	Steps                 []Step         `json:"steps"`
	Routings              []Evaluation   `json:"routings"`
	Scenarios             []Evaluation   `json:"scenarios"`
	Pareto                []string       `json:"pareto"`
	Recommendation        Recommendation `json:"recommendation"`
	Context               *ContextCut    `json:"context_cut"`
	Notes                 []string       `json:"notes"`
}

// minReviewsForT is the number of reviewed workflows from which the t-interval of the
// review cost per workflow is used (below it, the skew of mostly-zero costs makes it too
// narrow).
const minReviewsForT = 20

// AsRecorded names the routing as it ran.
const AsRecorded = "as recorded"

// ErrNoWorkflows is returned for a workflow type with no workflow in the window.
var ErrNoWorkflows = errors.New("no workflows of this type in the window")
