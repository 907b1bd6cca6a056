"""The one writer of denormalised task columns, project totals and stored scores."""
