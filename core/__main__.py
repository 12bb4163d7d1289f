"""Command line: the same pipeline as the pages, for automation and checks.

  python -m core submit "<code>" [--idempotency-key K]   → {"run_id": ..., "status": ...}
                                                           bad input: {"status": "rejected", "key", "reason"}, exit 2
                                                           (K reused with another request: status "conflict", exit 2)
  python -m core similar RUN_ID [--k 5] [--any-type]       → [{"run_id", "request_type", "region", "distance"}, ...]
                                                             k from 1 to 50; no such run: one line on stderr, exit 1
  python -m core flush-outbox                              → {"written": n, ..., "rejected": [{"file", "reason"}]}
                                                             exit 1 when a record could not be written
  python -m core health                                    → the health snapshot
"""
from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypedDict

from core.contract.errors import IdempotencyConflict, InputError

MAX_SIMILAR_K = 50           # as GET /runs/{id}/similar
MAX_SEED_RUNS = 1_000_000    # ten times the largest seeding measured (docs/similarity.md)
MAX_SEED = 2**31 - 1


@contextlib.contextmanager
def _native_stdout_to_stderr() -> Iterator[None]:
    """Solver libraries (HiGHS) print banners from C to fd 1; keep stdout for the JSON answer."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _print(value: Any) -> None:
    print(json.dumps(value, default=str))


class _Rejected(TypedDict):
    """The CLI's answer to a code refused before anything was sent."""
    run_id: None
    status: str
    key: str
    reason: str


def _check_code(code: str) -> _Rejected | None:
    """The checks the pipeline makes before anything is sent, made before the database and the service start,
    so bad input is answered at once."""
    from core.contract.codec import decode_request
    from core.contract.tasks import validate_common

    try:
        validate_common(decode_request(code))
    except InputError as exc:
        return {"run_id": None, "status": "rejected", "key": exc.key, "reason": exc.reason}
    return None


def _whole_number(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: ASCII digits only (int() also reads '٥' and '1_000') within [low, high], so an
    argument never reaches SQL (a LIMIT past bigint) or a slice (a negative k) out of range."""
    def parse(text: str) -> int:
        if not re.fullmatch(r"[+-]?[0-9]{1,19}", text) or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"must be a whole number from {low} to {high}, got {text[:40]!r}")
        return int(text)
    return parse


def _run_id(text: str) -> str | None:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


def _no_run(text: str) -> int:
    print(f"no run with id {text[:80]!r}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    submit = commands.add_parser("submit", help="submit one encoded request")
    submit.add_argument("code")
    submit.add_argument("--idempotency-key")
    similar = commands.add_parser("similar", help="runs most similar to a stored run")
    similar.add_argument("run_id")
    similar.add_argument("--k", type=_whole_number(1, MAX_SIMILAR_K), default=5,
                         help=f"how many runs (1 to {MAX_SIMILAR_K})")
    similar.add_argument("--any-type", action="store_true", help="do not restrict to the same request type")
    commands.add_parser("flush-outbox", help="write runs kept in the local outbox to the database")
    commands.add_parser("health", help="print the health of every dependency")
    seed = commands.add_parser("seed-demo", help="fill the database with realistic past runs")
    seed.add_argument("--runs", type=_whole_number(0, MAX_SEED_RUNS), default=200)
    seed.add_argument("--seed", type=_whole_number(0, MAX_SEED), default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if args.command == "submit":
        rejected = _check_code(args.code)
        if rejected is not None:
            _print(rejected)
            return 2
    if args.command == "similar" and _run_id(args.run_id) is None:
        return _no_run(args.run_id)  # before the database starts: no id of that shape exists

    from core.settings import load_settings
    from core.usecases.outbox import KeyBusy
    from core.redaction import install_log_redaction
    from core.usecases.services import build_services, health_snapshot

    settings = load_settings()
    install_log_redaction(settings)
    services = build_services(settings)
    try:
        if args.command == "submit":
            try:
                outcome = services.submitter().submit(args.code, idempotency_key=args.idempotency_key)
            except InputError as exc:
                # Refused before anything was sent or stored: say which key and why, as one JSON line.
                _print({"run_id": None, "status": "rejected", "key": exc.key, "reason": exc.reason})
                return 2
            except IdempotencyConflict as exc:
                _print({"run_id": None, "status": "conflict", "key": "idempotency_key", "error": str(exc)})
                return 2
            except KeyBusy:
                _print({"run_id": None, "status": "busy", "key": "idempotency_key",
                        "error": "another submission of this key is still computing on this host; retry later"})
                return 1
            _print(outcome.summary())
            return 0 if outcome.status == "completed" else 1
        if args.command == "similar":
            from core.db.runs import get_run
            from core.search.similarity import similar_to_run

            if get_run(services.engine(), args.run_id) is None:
                return _no_run(args.run_id)  # else an unknown id and a run without neighbours both print []
            runs = similar_to_run(services.engine(), args.run_id, k=args.k, same_type=not args.any_type)
            _print([r.brief() for r in runs])
            return 0
        if args.command == "flush-outbox":
            from core.usecases.pipeline import flush_outbox

            services.recover_on_start = False  # the flush below is the one reported
            summary = flush_outbox(services.engine(), services.outbox)
            _print(summary)
            # Named in the summary (file and why): rejected records moved to rejected/, others still waiting.
            return 1 if summary["rejected"] or summary["failed"] else 0
        if args.command == "health":
            _print(health_snapshot(services))
            return 0
        if args.command == "seed-demo":
            from core.demo.seed import seed_demo

            with _native_stdout_to_stderr():
                seeded = seed_demo(services, runs=args.runs, seed=args.seed)
            _print(seeded)
            return 0
    finally:
        services.close()
    return 1


if __name__ == "__main__":
    sys.exit(main())
