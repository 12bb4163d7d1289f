"""A durable local outbox: computed runs that could not be written to the database yet.

One JSON file per submission, written atomically (temp file, fsync, rename) so a crash never leaves half
a record. A submission with an idempotency key has one file named after the key, whatever the number of
retries; flushing writes each record by its run id, so it is stored exactly once however often the flush
runs. A record the database can never take is moved to `rejected/` with the reason beside it.
Temp files left by a crash are removed, never counted as waiting runs.

While the database is down nothing else can tell two submissions of one key apart, so `key_lock` serialises
them on this host (an exclusive `flock` on a file named after the key, held across processes): the first
computes and puts its record, the others find it. `put` never replaces a key's record: the first answer
handed out for a key is the one stored.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypedDict

from core.db.rows import EmbeddingRow

TMP_PREFIX = ".tmp-"
STALE_TMP_S = 60.0  # a temp file older than this belongs to a writer that died
KEY_LOCK_POLL_S = 0.05


class OutboxRecord(TypedDict):
    """What `put` writes (it adds the idempotency key). `read` gives the file's JSON as it is: a record written
    by an older version is read by the same keys."""
    row: dict[str, Any]   # the RunRow as JSON: id, dates and times as ISO text
    embedding: EmbeddingRow | None
    created_at: str       # ISO 8601, UTC


class KeyBusy(Exception):
    """Another submission of this key kept its lock past the wait allowed."""


def key_digest(idempotency_key: str) -> str:
    """A key as 40 hex characters: the same on every host and every retry, of a fixed length and alphabet
    whatever the key (file names here, the QNN service's Idempotency-Key, a plan step's key)."""
    return hashlib.sha256(idempotency_key.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def _key_name(idempotency_key: str) -> str:
    return "key-" + key_digest(idempotency_key)


class Outbox:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @property
    def rejected_folder(self) -> Path:
        return self.folder / "rejected"

    def path_for(self, run_id: str, idempotency_key: str | None = None) -> Path:
        return self.folder / f"{_key_name(idempotency_key) if idempotency_key else run_id}.json"

    @property
    def locks_folder(self) -> Path:
        return self.folder / "locks"

    @contextmanager
    def key_lock(self, idempotency_key: str, wait_s: float = 120.0) -> Iterator[None]:
        """Exclusive on this host for one key (threads and processes alike); KeyBusy after `wait_s`."""
        self.locks_folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.locks_folder / f"{_key_name(idempotency_key)}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + wait_s
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise KeyBusy(idempotency_key) from None
                    time.sleep(KEY_LOCK_POLL_S)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def forget_key_lock(self, idempotency_key: str) -> None:
        """The key's record is stored: its lock file is no longer needed (the database arbitrates again)."""
        (self.locks_folder / f"{_key_name(idempotency_key)}.lock").unlink(missing_ok=True)

    def put(self, run_id: str, record: OutboxRecord, *, idempotency_key: str | None = None) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.path_for(run_id, idempotency_key)
        if idempotency_key and target.exists():
            return target  # the key's first answer stays the one stored (see the module docstring)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=TMP_PREFIX, suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({**record, "idempotency_key": idempotency_key}, handle, default=str)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    def find(self, idempotency_key: str) -> dict[str, Any] | None:
        """The record waiting for this submission, if any (a retry must not compute it again)."""
        path = self.path_for("", idempotency_key)
        try:
            return self.read(path)
        except (OSError, ValueError):
            return None

    def pending(self) -> list[Path]:
        if not self.folder.exists():
            return []
        paths = [p for p in self.folder.glob("*.json") if p.is_file() and not p.name.startswith(TMP_PREFIX)]
        return sorted(paths, key=lambda p: p.stat().st_mtime)

    def remove_partial(self, older_than_s: float = STALE_TMP_S) -> int:
        """Delete temp files a crashed writer left; a fresh one may still be being written."""
        if not self.folder.exists():
            return 0
        removed = 0
        cutoff = time.time() - older_than_s
        for path in self.folder.glob(f"{TMP_PREFIX}*"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                pass
        return removed

    def read(self, path: Path) -> dict[str, Any]:
        return json.loads(path.read_text(encoding="utf-8"))

    def remove(self, path: Path) -> None:
        path.unlink(missing_ok=True)

    def reject(self, path: Path, reason: str) -> Path:
        """Move a record the database can never take out of the way, with the reason beside it."""
        self.rejected_folder.mkdir(parents=True, exist_ok=True)
        target = self.rejected_folder / path.name
        os.replace(path, target)
        target.with_suffix(".reason.txt").write_text(reason + "\n", encoding="utf-8")
        return target

    def __len__(self) -> int:
        return len(self.pending())
