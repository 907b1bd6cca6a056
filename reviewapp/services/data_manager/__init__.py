"""The Data Manager: table state and selection as values, the task queries, bulk actions,
saved views and the task page loader."""
