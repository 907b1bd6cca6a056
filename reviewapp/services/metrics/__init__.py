"""The numbers: definitions as pure functions (definitions, agreement), fed by SQL
aggregates over the stored scores (aggregates)."""
