"""Solvers behind the local QNN-compatible service, one module per task.

Each engine module exposes `parse_request(fields) -> request` (raises InputError)
and `run(request) -> dict` (a JSON-ready result).
"""
