"""python -m core.api --host 127.0.0.1 --port 8000 — the REST API on the settings' database and QNN service.

Beyond loopback it refuses to start without API_KEYS: an open API on a network would let anyone run solvers
and read every stored run.
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys

import uvicorn

from core.api.security import is_loopback
from core.settings import load_settings
from core.redaction import install_log_redaction

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.api", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    settings = load_settings()
    if not is_loopback(args.host) and not settings.api_keys:
        print(f"refusing to listen on {args.host}: set API_KEYS (environment or .streamlit/secrets.toml) "
              "to require a bearer key, or listen on 127.0.0.1", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_log_redaction(settings)
    from core.api.app import create_app

    app = create_app()
    # uvicorn re-raises SIGTERM after its graceful shutdown; as SystemExit (not the default kill) it lets the
    # atexit handlers run, which release this process's hold on the embedded PostgreSQL.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    # Keep-alive longer than clients' usual 5 s pool expiry, so the server never closes a connection a client
    # is about to reuse (a POST on it would fail with a reset).
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, timeout_graceful_shutdown=5,
                timeout_keep_alive=65,
                log_config=None)  # keep the root handlers, so the redaction filter sees uvicorn's lines too
    return 0


if __name__ == "__main__":
    sys.exit(main())
