"""A streamed answer that never waits on its client for ever, and says so when it is cut.

Starlette's StreamingResponse awaits each `send` for as long as the client takes: a client that stops reading
a large export keeps the request (and whatever its iterator holds) alive for good. Here each chunk must be
taken within `stall_s`, else the stream stops; and a stream whose source fails midway (the database stops)
stops too. Either way the response is left incomplete on purpose: the server closes the connection without
the final chunk, so the client sees a broken transfer (curl exit 18, httpx RemoteProtocolError), never a
200 whose truncated body looks whole.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping

import anyio
from starlette.responses import StreamingResponse
from starlette.types import Send

log = logging.getLogger(__name__)


class StallDeadlineStreamingResponse(StreamingResponse):
    def __init__(self, content: Iterator[str], *, stall_s: float, media_type: str,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(content, media_type=media_type, headers=headers)
        self.stall_s = stall_s

    async def stream_response(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        try:
            async for chunk in self.body_iterator:
                data = chunk.encode(self.charset) if isinstance(chunk, str) else bytes(chunk)
                with anyio.fail_after(self.stall_s):
                    await send({"type": "http.response.body", "body": data, "more_body": True})
        except TimeoutError:
            log.warning("stream cut: the client took no data for %g s", self.stall_s)
            return
        except Exception as exc:  # the source failed midway: the answer must not look complete
            log.warning("stream cut: its source failed (%s)", type(exc).__name__)
            return
        await send({"type": "http.response.body", "body": b"", "more_body": False})
