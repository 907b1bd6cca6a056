"""How we talk to each engine: SQLite pragmas and writer turns, bulk inserts, text search."""

# Rows per bulk statement and ids per IN (...) list: well under SQLite's limit of 32,766
# bound parameters, and big enough that statement overhead does not dominate.
CHUNK = 2000
