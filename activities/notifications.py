"""Delivery of reminders and escalations: into the outbox (the in-app feed) and, when SMTP is set up, by email.

Every row is keyed by (notice, recipient): a retried activity, a restarted worker or a replay finds the row and
sends nothing twice. The one gap left is a worker killed after the SMTP server accepted a message but before the row
was marked: the message then goes out again (its Message-ID is the same, so mail systems can drop the copy).
"""

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select, update
from temporalio import activity

from models.contracts import KIRIM_NOTIFIKASI, Notice, Recipient
from models.tables import NotificationRow, UnitRow
from service.i18n import DEFAULT_LOCALE, gettext, moment

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,  # plain-text emails
)


@dataclass(frozen=True)
class Mailer:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    starttls: bool = False


def local_time(at: datetime, notice: Notice, locale: str) -> str:
    """The moment in the unit's own time zone, with its zone's name ("10 Desember 2026 09.00 WITA")."""
    return moment(locale, at.astimezone(notice.unit.tz))


def render(notice: Notice, recipient: Recipient, locale: str = DEFAULT_LOCALE) -> tuple[str, str]:
    """The subject and body of a notice for one recipient, in `locale`, every word from the catalogue."""

    def _(msgid: str, **params: Any) -> str:
        return gettext(locale, msgid, **params)

    subject, _sep, body = (
        TEMPLATES.get_template(f"{notice.kind}.txt")
        .render(_=_, n=notice, to=recipient, batas=local_time(notice.deadline, notice, locale))
        .partition("\n")
    )
    return subject.strip(), body.lstrip("\n")


class Notifications:
    def __init__(
        self,
        engine: Engine,
        mailer: Mailer | None = None,
        ditjen_email: str | None = None,
        language: str = DEFAULT_LOCALE,
    ) -> None:
        """`language`: of the emails and in-app notices (`P2HAM_LANGUAGE`)."""
        self.engine, self.mailer, self.ditjen_email, self.language = engine, mailer, ditjen_email, language

    @activity.defn(name=KIRIM_NOTIFIKASI)
    async def kirim_notifikasi(self, notice: Notice) -> int:
        """Write the notice for each recipient once, then email those not yet emailed. Returns emails sent now."""
        rows = await asyncio.to_thread(self._outbox, notice)
        sent = 0
        for row in rows:
            if self.mailer is not None and row.email and row.emailed_at is None:
                await self._email(row)
                await asyncio.to_thread(self._mark_emailed, row.key)
                sent += 1
        return sent

    def _outbox(self, notice: Notice) -> list[NotificationRow]:
        now = datetime.now(UTC)
        emailed: set[str] = set()  # operator and head of a unit share its address: one email per address
        with Session(self.engine) as session:
            for recipient in notice.recipients:
                address = self._address(session, recipient)
                if address in emailed:
                    address = None
                elif address:
                    emailed.add(address)
                key = f"{notice.key}/{recipient.role}/{recipient.unit or recipient.region or recipient.name or ''}"
                if session.get(NotificationRow, key) is not None:
                    continue
                subject, body = render(notice, recipient, self.language)
                session.add(
                    NotificationRow(
                        key=key,
                        notice_key=notice.key,
                        kind=notice.kind,
                        year=notice.year,
                        unit=notice.unit.code,
                        role=recipient.role,
                        target_unit=recipient.unit,
                        target_region=recipient.region,
                        name=recipient.name,
                        email=address,
                        subject=subject,
                        body=body,
                        due_at=notice.at,
                        created_at=now,
                    )
                )
                try:
                    session.commit()
                except IntegrityError:  # a twin attempt wrote it first
                    session.rollback()
            query = select(NotificationRow).where(NotificationRow.notice_key == notice.key)
            return list(session.exec(query.order_by(col(NotificationRow.key))))

    def _address(self, session: Session, recipient: Recipient) -> str | None:
        """Today's address book: a unit's (or its Kanwil's) registered email, the witness's own, Ditjen HAM's."""
        if recipient.role == "ditjen_ham":
            return self.ditjen_email
        code = recipient.unit or recipient.region
        row = session.get(UnitRow, code) if code else None
        return (row.email if row is not None else None) or recipient.email

    async def _email(self, row: NotificationRow) -> None:
        assert self.mailer is not None and row.email is not None
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.mailer.sender, row.email, row.subject
        message["Message-ID"] = f"<{hashlib.sha256(row.key.encode()).hexdigest()[:32]}@p2ham>"
        message.set_content(row.body)
        m = self.mailer
        await aiosmtplib.send(
            message,
            hostname=m.host,
            port=m.port,
            username=m.username,
            password=m.password,
            start_tls=m.starttls,
            timeout=10,
        )

    def _mark_emailed(self, key: str) -> None:
        with Session(self.engine) as session:
            session.execute(
                update(NotificationRow).where(col(NotificationRow.key) == key).values(emailed_at=datetime.now(UTC))
            )
            session.commit()
