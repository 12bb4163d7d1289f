"""Similar runs: operator-phrase descriptions, sentence embeddings, pgvector search and re-rank."""
