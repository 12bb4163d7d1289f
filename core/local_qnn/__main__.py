"""python -m core.local_qnn --host 127.0.0.1 --port N  — run the local QNN-compatible service."""
from __future__ import annotations

import argparse
import os
import threading
import time

import uvicorn


def _exit_when_parent_dies(parent_pid: int) -> None:
    """Started by the dashboard: do not outlive it, even if it is killed hard."""
    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent_pid:
                os._exit(0)
    threading.Thread(target=watch, daemon=True).start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--exit-with-parent", action="store_true")
    args = parser.parse_args()
    if args.exit_with_parent:
        _exit_when_parent_dies(os.getppid())
    from core.settings import load_settings
    from core.redaction import install_log_redaction

    install_log_redaction(load_settings())  # uvicorn's records too: they are created through the factory
    uvicorn.run("core.local_qnn.app:app", host=args.host, port=args.port, log_level="warning",
                access_log=False, timeout_graceful_shutdown=5,
                timeout_keep_alive=65)  # longer than httpx's 5 s pool expiry: the client, not the server, closes idle


if __name__ == "__main__":
    main()
