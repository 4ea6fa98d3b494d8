"""Notifikasi: the in-app feed as a page, newest first, the ones not seen before marked, each linking to its case.
Opening the page marks what it showed as seen (the marks are shown this once)."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from service import notifications
from service.deps import SessionDep
from service.i18n import moment
from service.pages.render import PageActor, PageLocale, page, page_reads

router = APIRouter(prefix="/ui")
SHOWN = 100


@router.get("/notifikasi", response_class=HTMLResponse, dependencies=[page_reads("notification")])
def notifikasi(request: Request, actor: PageActor, locale: PageLocale, db: SessionDep) -> HTMLResponse:
    rows = notifications.feed(db, actor, None, SHOWN)
    seen = notifications.seen(db, actor.sub, rows)
    items = [
        {
            "unread": r.key not in seen,
            "subject": r.subject,
            "body": r.body,
            "when": moment(locale, r.due_at),
            "year": r.year,
            "unit": r.unit,
        }
        for r in rows
    ]
    notifications.mark_seen(db, actor.sub, {r.key for r in rows} - seen)
    unread = sum(item["unread"] for item in items)
    return page(request, locale, "notifikasi.html", items=items, unread=unread)
