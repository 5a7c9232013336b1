-- The input's token mix by role, counted from captured messages (0 when none were
-- captured): system instructions, retrieved context and tool results, earlier turns, the
-- latest user message, and text of unknown role. Context share = context / mix total.
ALTER TABLE {db}.line_items ADD COLUMN system_tokens UInt64;
ALTER TABLE {db}.line_items ADD COLUMN context_tokens UInt64;
ALTER TABLE {db}.line_items ADD COLUMN history_tokens UInt64;
ALTER TABLE {db}.line_items ADD COLUMN user_tokens UInt64;
ALTER TABLE {db}.line_items ADD COLUMN other_tokens UInt64;
-- Audio and image tokens (parts of input/output billed at their own rates) and the share
-- of a compute node a span used (basis points; 0 = the whole node), so re-pricing has them.
ALTER TABLE {db}.line_items ADD COLUMN audio_input_tokens UInt64;
ALTER TABLE {db}.line_items ADD COLUMN image_input_tokens UInt64;
ALTER TABLE {db}.line_items ADD COLUMN audio_output_tokens UInt64;
ALTER TABLE {db}.line_items ADD COLUMN compute_share_bp UInt64;
