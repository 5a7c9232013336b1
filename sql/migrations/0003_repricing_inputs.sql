-- What `unitcost reprice` needs to price a line item again without its span: the tool,
-- compute class, service tier, 1-hour cache writes and retrieval units it was priced by.
ALTER TABLE {db}.line_items ADD COLUMN tool_name String;
ALTER TABLE {db}.line_items ADD COLUMN compute_class String;
ALTER TABLE {db}.line_items ADD COLUMN service_tier String;
ALTER TABLE {db}.line_items ADD COLUMN cache_write_1h_tokens UInt64;
ALTER TABLE {db}.line_items ADD COLUMN retrieval_units UInt64;
