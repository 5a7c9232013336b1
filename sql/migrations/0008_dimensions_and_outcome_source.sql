-- What uninstrumented-for-unitcost traces carry and reports group by: the service and
-- deployment environment (resource), the session (session.id, gen_ai.conversation.id),
-- the end user (user.id, enduser.id) and free-form labels (unitcost.label.<key> and
-- configured attribute mappings) as parallel key/value arrays (no Map on 18.16: read a
-- label with label_values[indexOf(label_keys, 'key')]). A line item's dimensions are its
-- span's, inherited from its workflow's root where the span has none. Also a
-- provider-reported cost's currency ('' = as reported, USD by convention) and source
-- (gen_ai.usage.cost.source, or the attribute family it came from).
-- One ALTER per table: on a cluster each becomes three ON CLUSTER tasks.
ALTER TABLE {db}.line_items ADD COLUMN session String,
    ADD COLUMN end_user String,
    ADD COLUMN service String,
    ADD COLUMN environment String,
    ADD COLUMN label_keys Array(String),
    ADD COLUMN label_values Array(String),
    ADD COLUMN provider_cost_currency String,
    ADD COLUMN provider_cost_source String;

-- Which rule decided a workflow's outcome ("attribute unitcost.workflow.outcome",
-- "status ERROR", "rule 1: app.ticket.resolved=true"...), and its dimensions: the root's,
-- else the earliest of its spans that has them.
ALTER TABLE {db}.workflows ADD COLUMN outcome_source String,
    ADD COLUMN session String,
    ADD COLUMN end_user String,
    ADD COLUMN service String,
    ADD COLUMN environment String,
    ADD COLUMN label_keys Array(String),
    ADD COLUMN label_values Array(String);

-- The hourly rollups carry the service and environment too, so drift alerts can be scoped
-- by them (sessions, users and labels are too many to roll up: query the source for those).
ALTER TABLE {db}.rollup_workflows_hourly ADD COLUMN service String, ADD COLUMN environment String;
ALTER TABLE {db}.rollup_costs_hourly ADD COLUMN service String, ADD COLUMN environment String;
