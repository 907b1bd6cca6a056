"""How we talk to each engine: SQLite pragmas and writer turns, bulk inserts, text search."""
