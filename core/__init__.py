"""Energy Grid Load Optimizer: everything that is not UI, in layers (pyproject.toml's import-linter contracts).

From the bottom: `contract` (what both sides of the HTTP boundary share), `settings` and `redaction` (read by
every process), `db` and `qnn` (Postgres and the QNN service's HTTP client), then `inputs`, `search`,
`monitoring` and `charts`, then `usecases` (submit a run, plan a day), then `api` and the CLI (`python -m core`).
`local_qnn` is the QNN-compatible service itself: it stands beside the layers and imports only `contract`,
`settings` and `redaction`.
"""
