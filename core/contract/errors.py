"""Typed errors shared by the service, the client and the pipeline."""
from __future__ import annotations


class InputError(ValueError):
    """A request field is missing or wrong; `key` names it so an operator can fix it."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason

    def as_dict(self) -> dict[str, str]:
        return {"error": "invalid_request", "key": self.key, "reason": self.reason}


class IdempotencyConflict(Exception):
    """An idempotency key already names a different request: replaying it would return the wrong run."""

    def __init__(self, key: str) -> None:
        super().__init__("this idempotency key was already used with a different request; "
                         "use a new key for a new request")
        self.key = key
