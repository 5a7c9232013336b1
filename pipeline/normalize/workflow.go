package normalize

import (
	"github.com/unitcost/unitcost/pipeline"
)

// workflowNames is the order a workflow root's name is taken in: unitcost's or GenAI's
// workflow name, the agent's name (gen_ai.agent.name, agent.name), OpenLLMetry's entity
// then workflow name; the span name when none is set.
var workflowNames = [...]sKey{sWorkflow, sAgent, sEntity, sTraceloopWfl}

func (f *fields) workflowName(spanName string, lim Limits) string {
	for _, k := range workflowNames {
		if f.s[k].v != "" {
			return f.get(k, "workflow name", lim)
		}
	}
	return spanName
}

// dimensions fills who and where: team, feature, session, end user, agent, service,
// environment and free-form labels.
func (f *fields) dimensions(out *pipeline.Span, lim Limits) {
	out.Team = f.get(sTeam, "team", lim)
	out.Feature = f.get(sFeature, "feature", lim)
	out.Session = f.get(sSession, "session", lim)
	out.User = f.get(sUser, "user", lim)
	out.Agent = f.get(sAgent, "agent", lim)
	out.Service = f.get(sService, "service", lim)
	out.Environment = f.get(sEnvironment, "environment", lim)
	out.Labels = f.labelsOut(lim)
}
