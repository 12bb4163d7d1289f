-- The idempotency key is bound to its request: a key replayed with a different request is a conflict, not the
-- other run. sha256 of the canonical decoded request (core/codec.py request_sha256); null on older rows, whose
-- fingerprint is computed from input_payload when needed.
alter table optimization_runs add column if not exists request_sha256 text;
