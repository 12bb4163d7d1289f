"""PostgreSQL with pgvector: the embedded server (`embedded`), engines and migrations (`connection`,
`migrations`, sql/), and one module per table family: `runs`, `plans`, `monitoring` (anomalies and request
metrics), `models` (the tables' columns)."""
