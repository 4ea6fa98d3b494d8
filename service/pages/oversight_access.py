"""Who may open the oversight pages, in one place: the role checks that exist today, to be replaced by the read rule
table of the access-control issue when it lands (a Kanwil sees its own region only; the audit pages are the
auditor's). Deny by default: a role not named here is refused, in words."""

from models.contracts import Actor
from service.pages.render import PageError
from workflows.reasons import reason

DASHBOARD = ("ditjen_ham", "kanwil", "auditor")
AUDIT = ("auditor",)
ADMIN = ("admin",)


def require(actor: Actor, roles: tuple[str, ...]) -> None:
    if actor.role not in roles:
        raise PageError(
            403, reason("web.not_allowed_title"), reason("error.peran_salah", roles=list(roles), role=actor.role)
        )


def dashboard_region(actor: Actor, asked: str | None) -> str | None:
    """The region the dashboard may show: a Kanwil's own, whatever it asks; the others' choice (None: all)."""
    require(actor, DASHBOARD)
    if actor.role != "kanwil":
        return asked
    if asked and asked != actor.region:
        raise PageError(403, reason("web.not_allowed_title"), reason("web.dashboard_other_region", region=actor.region))
    return actor.region
