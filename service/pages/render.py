"""How a page is written: Jinja2 templates with `_()` from the catalogues, the reader's language, who is logged in,
and the page errors (a refusal is a page in words, never a stack trace)."""

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from pydantic import ValidationError

from models.contracts import Actor
from service.access import COMMAND, PUBLIC, declared, require_scope
from service.errors import ApiError
from service.i18n import LOCALES, display, gettext, moment, negotiate, render
from service.pages import diagram, sections
from service.pages.session import CSRF_FIELD, csrf_token
from workflows.reasons import Reason, reason

TEMPLATES = Path(__file__).with_name("templates")
ENV = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), undefined=StrictUndefined)
LOGIN = "/ui/masuk"
HOME = "/ui/"
HOME_QUERY = "beranda"  # the session's copy of Beranda's query: the way back from a case keeps its filters
Errors = list[tuple[str, str]]  # a form's problems for its error summary: (the field's id, the problem in words)


def page_locale(request: Request) -> str:
    """`?lang=` (then kept in the session), else the session's choice, else the browser's, else Bahasa Indonesia."""
    chosen = request.query_params.get("lang")
    if chosen in LOCALES:
        request.session["lang"] = chosen
    stored = request.session.get("lang")
    return negotiate(request.headers.get("accept-language"), stored if stored in LOCALES else None)


PageLocale = Annotated[str, Depends(page_locale)]


def signed_in(request: Request) -> Actor | None:
    stored = request.session.get("actor")
    if stored is None:
        return None
    try:
        return Actor.model_validate(stored)
    except ValidationError:
        return None


class LoginRequired(Exception):
    """No one is logged in: the handler sends the browser to the login page, then back here."""

    def __init__(self, back_to: str) -> None:
        super().__init__(back_to)
        self.back_to = back_to


def page_actor(request: Request) -> Actor:
    actor = signed_in(request)
    if actor is None:
        raise LoginRequired(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    return actor


PageActor = Annotated[Actor, Depends(page_actor)]


def page_reads(rule: str) -> Any:
    """A page's declared read rule (`service.access`, walked by tests/test_read_rules.py): the signed-in official's
    role must read this resource at all (else a refusal page); a page of one case then asks `readable_case` for it.
    `public` (the login pages) and `command` (a form that sends a change the lifecycle decides) only declare."""
    if rule in (PUBLIC, COMMAND):
        return Depends(declared(rule, lambda: None))

    def role_may_read(actor: PageActor) -> Actor:
        try:
            require_scope(actor, rule)
        except ApiError as e:
            raise refusal(e) from None
        return actor

    return Depends(declared(rule, role_may_read))


def safe_next(target: str | None) -> str:
    """Where to go after logging in: only a page of ours (no open redirect)."""
    if target and target.startswith("/ui/") and not target.startswith("//") and "\\" not in target:
        return target
    return HOME


class PageError(Exception):
    """A refusal shown as a page: a title and what to do (reasons: message ids from the catalogue), and details;
    `action`, when given, is the address and words of the link that does it."""

    def __init__(
        self,
        status: int,
        title: Reason,
        message: Reason,
        details: list[Reason | str] | None = None,
        action: tuple[str, Reason] | None = None,
    ):
        super().__init__(title.code)
        self.status, self.title, self.message, self.details = status, title, message, details or []
        self.action = action


def home_url(request: Request) -> str:
    """Beranda as the official last filtered it."""
    query = request.session.get(HOME_QUERY)
    return f"{HOME}?{query}" if query else HOME


def page(request: Request, locale: str, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A template rendered in `locale`, with the layout's context: who is logged in, the CSRF token, the language."""

    def _(msgid: str, **params: Any) -> str:
        return gettext(locale, msgid, **params)

    def lang_url(lang: str) -> str:
        query = {k: v for k, v in request.query_params.items() if k != "lang"}
        return f"{request.url.path}?{urlencode({**query, 'lang': lang})}"

    actor = signed_in(request)
    html = ENV.get_template(template).render(
        _=_,
        locale=locale,
        actor=actor,
        sections=sections.shown(actor, request.url.path),
        csrf_field=CSRF_FIELD,
        csrf_token=csrf_token(request),
        lang_url=lang_url,
        path=request.url.path,
        home_url=home_url(request),
        stage_name=lambda stage: display(locale, "stage", stage),
        role_name=lambda role: display(locale, "role", role),
        moment=lambda value: moment(locale, value),
        words=lambda r: render(r, locale),
        lifecycle_svg=lambda stage: Markup(diagram.svg(locale, stage)),
        lifecycle_steps=diagram.steps,
        **context,
    )
    return HTMLResponse(html, status_code=status, headers={"Content-Language": locale})


def refusal(e: ApiError) -> PageError:
    """A refusal of the service layer as a page in words: what was refused, that nothing changed, and why."""
    return PageError(e.status, e.message, reason("web.refused_nothing_changed"), list(e.why))


def error_page(request: Request, error: PageError) -> HTMLResponse:
    locale = page_locale(request)
    return page(request, locale, "galat.html", status=error.status, error=error)
