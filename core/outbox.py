"""A durable local outbox: computed runs that could not be written to the database yet.

One JSON file per run, written atomically (temp file, fsync, rename) so a crash
never leaves half a record. Flushing writes each by its run id, so a record is
stored exactly once however often the flush runs.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


class Outbox:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def put(self, run_id: str, record: dict[str, Any]) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / f"{run_id}.json"
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(record, handle, default=str)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    def pending(self) -> list[Path]:
        if not self.folder.exists():
            return []
        return sorted(self.folder.glob("*.json"), key=lambda p: p.stat().st_mtime)

    def read(self, path: Path) -> dict[str, Any]:
        return json.loads(path.read_text(encoding="utf-8"))

    def remove(self, path: Path) -> None:
        path.unlink(missing_ok=True)

    def __len__(self) -> int:
        return len(self.pending())
