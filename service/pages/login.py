"""Logging in and out. Production: OpenID Connect against the ministry SSO (authlib), its claims mapped to the same
`Actor` the API uses. Dev mode only: a form to pick role, sub, name, unit and region (`dev_router`, never mounted in
production)."""

from typing import Annotated, Any

from authlib.integrations.base_client import OAuthError
from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from models.contracts import ROLES
from service.auth import actor_from_claims
from service.errors import ApiError
from service.i18n import display, gettext, render
from service.pages import session
from service.pages.render import LOGIN, PageError, PageLocale, page, page_reads, safe_next
from service.settings import Settings
from workflows.reasons import reason

router = APIRouter(prefix="/ui")
dev_router = APIRouter(prefix="/ui")


def sso_client(settings: Settings) -> StarletteOAuth2App | None:
    """The ministry SSO as an authlib OpenID Connect client, or None when no issuer is configured."""
    if not settings.oidc_discovery_url:
        return None
    oauth = OAuth()
    return oauth.register(
        name="sso",
        server_metadata_url=settings.oidc_discovery_url,
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret,
        client_kwargs={"scope": settings.oidc_scope},
    )


def get_sso(request: Request) -> StarletteOAuth2App | None:
    return request.app.state.pages_sso


Sso = Annotated[StarletteOAuth2App | None, Depends(get_sso)]


def login_page(request: Request, locale: str, sso: StarletteOAuth2App | None, status: int = 200, **form: Any):
    dev = request.app.state.p2ham.settings.mode == "dev"
    context = {"values": {}, "errors": [], **form}
    roles = [(role, display(locale, "role", role)) for role in ROLES]
    return page(request, locale, "masuk.html", status, sso=sso is not None, dev=dev, role_options=roles, **context)


@router.get("/masuk", response_class=HTMLResponse, dependencies=[page_reads("public")])
def masuk(request: Request, locale: PageLocale, sso: Sso, lanjut: str | None = None) -> Response:
    if lanjut:
        request.session["lanjut"] = safe_next(lanjut)
    return login_page(request, locale, sso)


@router.get("/masuk/sso", dependencies=[page_reads("public")])
async def masuk_sso(request: Request, sso: Sso) -> Response:
    if sso is None:
        raise PageError(404, reason("web.sso_not_configured_title"), reason("web.sso_not_configured"))
    return await sso.authorize_redirect(request, request.url_for("masuk_sso_kembali"))


@router.get("/masuk/sso/kembali", dependencies=[page_reads("public")])
async def masuk_sso_kembali(request: Request, sso: Sso) -> Response:
    """The SSO sends the browser back here with a code; its claims become the session's `Actor`."""
    if sso is None:
        raise PageError(404, reason("web.sso_not_configured_title"), reason("web.sso_not_configured"))
    try:
        token = await sso.authorize_access_token(request)
        claims = {**token.get("userinfo", {}), **await sso.userinfo(token=token)}
    except OAuthError as e:
        raise PageError(
            400, reason("web.sso_failed_title"), reason("web.sso_failed"), [e.description or e.error]
        ) from None
    settings: Settings = request.app.state.p2ham.settings
    names = {
        "sub": settings.oidc_claim_sub,
        "name": settings.oidc_claim_name,
        "role": settings.oidc_claim_role,
        "unit": settings.oidc_claim_unit,
        "region": settings.oidc_claim_region,
    }
    mapped = {field: claims.get(claim) for field, claim in names.items() if claims.get(claim) is not None}
    try:
        actor = actor_from_claims(mapped)
    except ApiError as e:
        raise PageError(403, reason("web.sso_no_role_title"), reason("web.sso_no_role"), [e.message]) from None
    return signed_in_as(request, actor.model_dump())


def signed_in_as(request: Request, actor: dict[str, Any]) -> RedirectResponse:
    target = safe_next(request.session.get("lanjut"))
    session.begin(request, {"actor": actor})
    return RedirectResponse(target, status_code=303)


@router.post("/keluar", dependencies=[page_reads("command")])
def keluar(request: Request) -> RedirectResponse:
    session.end(request)
    return RedirectResponse(LOGIN, status_code=303)


@dev_router.post("/masuk/dev", response_class=HTMLResponse, dependencies=[page_reads("command")])
def masuk_dev(
    request: Request,
    locale: PageLocale,
    sso: Sso,
    role: Annotated[str, Form()] = "",
    sub: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    unit: Annotated[str, Form()] = "",
    region: Annotated[str, Form()] = "",
) -> Response:
    """Dev mode only: log in as whoever the form names, checked like a token's claims."""
    values = {"role": role, "sub": sub.strip(), "name": name.strip(), "unit": unit.strip(), "region": region.strip()}
    errors = []
    if role not in ROLES:
        errors.append(("role", gettext(locale, "web.dev_login_choose_role")))
    if not values["sub"]:
        errors.append(("sub", gettext(locale, "web.dev_login_enter_sub")))
    if not errors:
        try:
            actor = actor_from_claims({k: v for k, v in values.items() if v})
        except ApiError as e:
            field = "region" if role == "kanwil" else "unit"
            errors.append((field, render(e.message, locale)))
        else:
            return signed_in_as(request, actor.model_dump())
    return login_page(request, locale, sso, 422, values=values, errors=errors)
