-- Commands join the correlation chain: what caused each command (the previous event of its
-- saga, or the request that started it), so a chain can be walked back to its first command.
ALTER TABLE processed_commands
  ADD COLUMN correlation_id text,
  ADD COLUMN causation_id   text;

CREATE INDEX processed_commands_correlation ON processed_commands (correlation_id);
