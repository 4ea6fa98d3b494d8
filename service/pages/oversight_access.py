"""Who may open the oversight pages: the dashboard and the audit pages ask the one read rule table
(`workflows/access.py`: a Kanwil sees its own region only; the audit pages are the auditor's); the administration
pages are the admin's, as the API's configuration commands are, and Penugasan is for the senders of `tugaskan`
(service/pages/sections.py, which the header's links ask too). Deny by default: a role not named is refused, in
words."""

from models.contracts import Actor
from service.pages.render import PageError
from workflows import access
from workflows.reasons import reason


def require_scope(actor: Actor, resource: str) -> str:
    """The official's scope for an oversight resource; a role that never reads it gets a refusal page."""
    scope = access.scope(actor, resource)
    if scope == "none":
        readers = [role for role, scopes in access.READS.items() if scopes.get(resource, "none") != "none"]
        raise PageError(
            403, reason("web.not_allowed_title"), reason("error.peran_salah", roles=readers, role=actor.role)
        )
    return scope


def require(actor: Actor, roles: tuple[str, ...]) -> None:
    if actor.role not in roles:
        raise PageError(
            403, reason("web.not_allowed_title"), reason("error.peran_salah", roles=list(roles), role=actor.role)
        )


def dashboard_region(actor: Actor, asked: str | None) -> str | None:
    """The region the dashboard may show: a Kanwil's own, whatever it asks; the others' choice (None: all)."""
    if require_scope(actor, "dashboard") == "all":
        return asked
    if asked and asked != actor.region:
        raise PageError(403, reason("web.not_allowed_title"), reason("web.dashboard_other_region", region=actor.region))
    return actor.region


def job_gone(start_again: str) -> PageError:
    """A background job id the database does not know (service/background.py keeps every run there): a mistyped or
    made-up address. Running the job again is safe: nothing is started twice."""
    return PageError(
        404,
        reason("web.job_not_found_title"),
        reason("web.job_not_found"),
        action=(start_again, reason("web.job_again")),
    )
