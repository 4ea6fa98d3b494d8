"""The sections of the web pages and who may open each: the header's links (base.html) and the pages' own
refusals (service/pages/oversight_access.py) ask the same predicates, so a link is shown exactly to the officials
whose page opens. The read rules come from the one table (`service.access.role_reads`); Administrasi is the
registry's and the cycle's (the admin, who opens cohorts by the lifecycle's rules), and Penugasan is for whoever the
lifecycle's rules let send `tugaskan`."""

from collections.abc import Callable
from dataclasses import dataclass

from models.contracts import Actor
from service.access import role_reads
from service.cases import this_year
from workflows import lifecycle
from workflows.reasons import Reason, reason

ADMIN = lifecycle.COHORT_ROLES
ASSIGNERS = lifecycle.RULES["tugaskan"].roles


@dataclass(frozen=True)
class Section:
    label: Reason
    href: str  # `{year}`: the current cycle year
    area: str  # the addresses of the section's pages start with this
    may_open: Callable[[Actor], bool]


SECTIONS = (
    # The daily work: what waits for me, the cases I may read, the ceremonies of my region.
    Section(reason("web.nav_tasks"), "/ui/", "/ui/", lambda a: role_reads(a, "case")),
    Section(reason("web.nav_cases"), "/ui/kasus", "/ui/kasus", lambda a: role_reads(a, "case")),
    Section(reason("web.nav_ceremonies"), "/ui/upacara", "/ui/upacara", lambda a: role_reads(a, "ceremony")),
    # Oversight.
    Section(reason("web.nav_dashboard"), "/ui/dasbor/{year}", "/ui/dasbor/", lambda a: role_reads(a, "dashboard")),
    Section(reason("web.nav_audit"), "/ui/audit", "/ui/audit", lambda a: role_reads(a, "audit")),
    Section(reason("web.nav_admin"), "/ui/admin/unit", "/ui/admin/", lambda a: a.role in ADMIN),
    Section(reason("web.nav_assign"), "/ui/admin/penugasan", "/ui/admin/penugasan", lambda a: a.role in ASSIGNERS),
    Section(
        reason("web.nav_notifications"), "/ui/notifikasi", "/ui/notifikasi", lambda a: role_reads(a, "notification")
    ),
    # The public register needs no login at all.
    Section(reason("web.nav_register"), "/publik/predikat/{year}", "/publik/predikat/", lambda a: True),
)


def shown(actor: Actor | None, path: str) -> list[tuple[str, Reason, bool]]:
    """The sections this official may open: (address, label, whether this page is in it: the longest area the path
    starts with)."""
    if actor is None:
        return []
    year = this_year()
    mine = [s for s in SECTIONS if s.may_open(actor)]
    here = max((s for s in mine if path.startswith(s.area)), key=lambda s: len(s.area), default=None)
    return [(s.href.format(year=year), s.label, s is here) for s in mine]
