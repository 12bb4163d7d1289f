"""The local QNN-compatible service: the same HTTP contract as the QNN API, answered by real solvers
(`engines`: forecast, storage, grid), with its guards (`guards`), task table (`tasks`) and anomaly reporting
(`monitoring`). Start: python -m core.local_qnn."""
