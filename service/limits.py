"""Request size limits, enforced while the body streams in: a 5 MB 'reason' is refused before it is parsed or logged."""

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import error_response
from workflows.reasons import Reason, reason


def too_large(limit: int) -> tuple[Reason, list[Reason]]:
    """What a 413 says: the limit, and what to do."""
    size = f"{limit / 1024 / 1024:g} MB" if limit >= 1024 * 1024 else f"{limit} B"
    return reason("error.permintaan_terlalu_besar", batas=size), [reason("kirim_lebih_kecil", batas=size)]


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """413 for a body over `limit` bytes (`/evidence` uploads: `upload_limit`), whatever Content-Length says."""

    def __init__(self, app: ASGIApp, limit: int, upload_limit: int) -> None:
        self.app, self.limit, self.upload_limit = app, limit, upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.upload_limit if scope["path"] == "/evidence" else self.limit
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self.refuse(scope, receive, send, limit)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge
            return message

        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLarge:
            if not started:
                await self.refuse(scope, receive, send, limit)

    @staticmethod
    async def refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """The API's one error shape, in the caller's language (`?lang=`, `Accept-Language`), with why_codes."""
        message, why = too_large(limit)
        response = error_response(Request(scope), 413, "too_large", message, why)
        await response(scope, receive, send)
