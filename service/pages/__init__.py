"""The web pages under /ui/: server-rendered HTML over the same service layer as the JSON API.

`mount` adds them to the app: the routers, the static files, the server-side sessions, CSRF on every form that
changes something, gzip for the pages, and the page errors. The dev login exists only in dev mode.
"""

from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.exceptions import HTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from service.errors import (
    ApiError,
    api_error_handler,
    http_error_handler,
    http_message,
    validation_error_handler,
    validation_reasons,
)
from service.pages import (
    admin,
    audit,
    cases,
    dasbor,
    home,
    login,
    notifikasi,
    penugasan,
    publik,
    rencana,
    report,
    upacara,
)
from service.pages.render import LOGIN, LoginRequired, PageError, error_page, refusal
from service.pages.session import ServerSessions, csrf_valid
from service.settings import Settings
from workflows.reasons import reason

STATIC = Path(__file__).with_name("static")


class PagesGZip:
    """gzip for /ui only (pages, stylesheet, script): the JSON API's answers stay as they were."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=500)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/ui"):
            await self.gzip(scope, receive, send)
        else:
            await self.app(scope, receive, send)


async def csrf_checked(request: Request) -> None:
    """Every POST under /ui carries this session's CSRF token, or it is refused before it changes anything."""
    if request.method == "POST" and not await csrf_valid(request):
        raise PageError(403, reason("web.csrf_title"), reason("web.csrf_refused"))


def login_redirect(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(f"{LOGIN}?{urlencode({'lanjut': exc.back_to})}", status_code=303)


def page_error(request: Request, exc: Exception) -> HTMLResponse:
    assert isinstance(exc, PageError)
    return error_page(request, exc)


PAGE_PATHS = ("/ui", "/publik")  # a person reads what these answer, errors included
Handler = Callable[[Request, Exception], Awaitable[Response]]


def on_pages(api_handler: Handler, as_page: Callable[[Exception], PageError]) -> Handler:
    """An error the API answers in JSON is, under the pages' addresses, a page in words (a link typed or edited by
    hand, a year that cannot be read, an address that does not exist): never a JSON body in a browser."""

    async def handler(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith(PAGE_PATHS):
            return error_page(request, as_page(exc))
        return await api_handler(request, exc)

    return handler


def refused(exc: Exception) -> PageError:
    assert isinstance(exc, ApiError)
    return refusal(exc)


def unreadable(exc: Exception) -> PageError:
    assert isinstance(exc, RequestValidationError)
    return PageError(422, reason("web.address_unreadable"), reason("web.check_address"), list(validation_reasons(exc)))


def http_failure(exc: Exception) -> PageError:
    assert isinstance(exc, HTTPException)
    title = reason("web.page_not_found") if exc.status_code == 404 else http_message(exc.status_code)
    return PageError(exc.status_code, title, reason("web.check_address"))


def mount(app: FastAPI, settings: Settings, engine: Engine) -> None:
    app.state.pages_sso = login.sso_client(settings)
    routers = [login.router, home.router, cases.router, report.router, rencana.router, upacara.router]
    routers += [publik.router, dasbor.router, notifikasi.router, audit.router, admin.router, penugasan.router]
    routers += [login.dev_router] if settings.mode == "dev" else []
    for router in routers:
        app.include_router(router, dependencies=[Depends(csrf_checked)], include_in_schema=False)
    app.mount("/ui/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(ServerSessions, engine=engine, settings=settings)
    app.add_middleware(PagesGZip)
    app.add_exception_handler(LoginRequired, login_redirect)
    app.add_exception_handler(PageError, page_error)
    # The API's error handlers (service/api.py), replaced by ones that answer the pages' addresses with a page.
    app.add_exception_handler(ApiError, on_pages(api_error_handler, refused))
    app.add_exception_handler(RequestValidationError, on_pages(validation_error_handler, unreadable))
    app.add_exception_handler(HTTPException, on_pages(http_error_handler, http_failure))
