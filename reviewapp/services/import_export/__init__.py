"""Label Studio JSON and CSV in and out: reading files, validating tasks, storing rows,
and yielding export rows."""
