-- The rest of a reading's scope (the rule's scope.workflow_version, team, model, service
-- and environment; tenant and workflow were already there), so the daily alert band
-- (/api/v1/alerts/readings?bucket=day) weights each hour by the denominator of the very
-- population the engine read it over. '' matches everything, as in the rule; rows written
-- before this migration read '' (the band of such a scoped rule's older hours is then
-- weighted by its tenant and workflow only, as before).
ALTER TABLE {db}.alert_readings ADD COLUMN workflow_version String,
    ADD COLUMN team String,
    ADD COLUMN model String,
    ADD COLUMN service String,
    ADD COLUMN environment String;
