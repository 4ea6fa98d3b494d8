"""Server-side sessions for the web pages, and the CSRF token every changing form carries.

The cookie holds only a random session id, signed (itsdangerous); the session's data lives in the database under the
id's sha256, so a stolen database dump holds no usable cookie and logout really ends the session. The cookie is
HttpOnly, SameSite=Lax, limited to /ui, and Secure in production. In dev mode (`make run`, the tests) it is not Secure:
the stack is served over plain http on 127.0.0.1, where not every client (curl, httpx, older browsers) sends a Secure
cookie back; production runs behind TLS only.
"""

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio.to_thread
from fastapi import Request
from itsdangerous import BadSignature, Signer
from sqlalchemy import Engine, delete
from sqlmodel import Session
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from models.tables import WebSessionRow
from service.settings import Settings

COOKIE = "p2ham_sesi"
PATH = "/ui"
ROTATE = "p2ham.rotate_session"  # set in the scope by `begin`: a login gets a new id (no session fixation)
CSRF_FIELD = "csrf_token"


def signing_key(settings: Settings) -> str:
    if settings.session_secret:
        return settings.session_secret
    return hmac.new(settings.jwt_secret.encode(), b"p2ham web session", hashlib.sha256).hexdigest()


def key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class ServerSessions:
    """ASGI middleware: `request.session` for every /ui request, loaded from and saved to the database."""

    def __init__(self, app: ASGIApp, engine: Engine, settings: Settings) -> None:
        self.app = app
        self.engine = engine
        self.signer = Signer(signing_key(settings), salt="p2ham-sesi")
        self.max_age = timedelta(hours=settings.session_hours)
        self.secure = settings.mode == "production"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PATH):
            await self.app(scope, receive, send)
            return
        session_id = self.unsign(HTTPConnection(scope).cookies.get(COOKIE))
        loaded = await anyio.to_thread.run_sync(self.load, session_id) if session_id else None
        if loaded is None:
            session_id = None
        scope["session"] = dict(loaded or {})

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookie = await anyio.to_thread.run_sync(self.save, session_id, loaded, scope)
                if cookie is not None:
                    MutableHeaders(scope=message).append("Set-Cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def unsign(self, cookie: str | None) -> str | None:
        if not cookie:
            return None
        try:
            return self.signer.unsign(cookie).decode()
        except BadSignature:
            return None

    def load(self, session_id: str) -> dict[str, Any] | None:
        with Session(self.engine) as db:
            row = db.get(WebSessionRow, key(session_id))
            if row is None or row.expires_at <= datetime.now(UTC):
                return None
            return dict(row.data)

    def save(self, session_id: str | None, loaded: dict[str, Any] | None, scope: Scope) -> str | None:
        """Write the session if it changed; the Set-Cookie header to send, or None."""
        data: dict[str, Any] = scope["session"]
        rotate = bool(scope.get(ROTATE))
        if data == (loaded or {}) and not rotate:
            return None
        now = datetime.now(UTC)
        with Session(self.engine) as db:
            if session_id and (rotate or not data):
                db.exec(delete(WebSessionRow).where(WebSessionRow.id == key(session_id)))
                session_id = None
            if not data:
                db.commit()
                return self.cookie("", max_age=0)
            if session_id is None:
                session_id = secrets.token_urlsafe(32)
                db.exec(delete(WebSessionRow).where(WebSessionRow.expires_at < now))  # expired sessions go too
            db.merge(WebSessionRow(id=key(session_id), data=data, expires_at=now + self.max_age))
            db.commit()
        return self.cookie(self.signer.sign(session_id).decode(), max_age=int(self.max_age.total_seconds()))

    def cookie(self, value: str, max_age: int) -> str:
        secure = "; Secure" if self.secure else ""
        return f"{COOKIE}={value}; Path={PATH}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"


def begin(request: Request, data: dict[str, Any]) -> None:
    """A fresh session (new id) holding `data` and a new CSRF token: after a login."""
    lang = request.session.get("lang")
    request.session.clear()
    request.session.update(data, csrf=secrets.token_urlsafe(32))
    if lang:
        request.session["lang"] = lang
    request.scope[ROTATE] = True


def end(request: Request) -> None:
    request.session.clear()


def csrf_token(request: Request) -> str:
    """This session's CSRF token, made on first use; every form that changes something carries it."""
    if "csrf" not in request.session:
        request.session["csrf"] = secrets.token_urlsafe(32)
    return request.session["csrf"]


async def csrf_valid(request: Request) -> bool:
    expected = request.session.get("csrf")
    sent = (await request.form()).get(CSRF_FIELD)
    return isinstance(expected, str) and isinstance(sent, str) and hmac.compare_digest(expected, sent)
