"""Reminders and escalations on a real Temporal dev server, delivered to a real SMTP server on loopback (aiosmtpd)."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email import message_from_bytes
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from activities.notifications import TEMPLATES, Mailer, render
from models.contracts import Notice, Recipient, UnitInfo
from models.policy import Calendar
from models.tables import NotificationRow
from service.api import create_app
from service.demo import Driver, declare, open_case, report
from service.i18n import moment
from service.settings import Settings
from worker import build_worker
from workflows.unit import case_workflow_id

UNIT_EMAIL, KANWIL_EMAIL = "unit@kanim.example.go.id", "kanwil-dki@example.go.id"
WAIT = 30.0


@dataclass
class Mail:
    to: list[str]
    subject: str
    message_id: str
    received: datetime


@dataclass
class Inbox:
    """An SMTP server's deliveries. `hold` keeps the first message whose subject holds `held_subject` waiting until
    released, then refuses it (451)."""

    mails: list[Mail] = field(default_factory=list)
    hold: threading.Event | None = None
    held_subject: str = ""
    held: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's hook name)
        msg = message_from_bytes(envelope.content)
        if self.hold is not None and not self.held.is_set() and self.held_subject in str(msg["Subject"]):
            self.held.set()
            await asyncio.get_running_loop().run_in_executor(None, self.hold.wait)
            return "451 try again later"
        self.mails.append(Mail(list(envelope.rcpt_tos), str(msg["Subject"]), str(msg["Message-ID"]), datetime.now(UTC)))
        return "250 OK"

    def kinds(self, to: str) -> list[str]:
        return [m.subject for m in self.mails if to in m.to]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def smtp_server(inbox: Inbox) -> Iterator[int]:
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def calendar(now: datetime, closes_in: float, **overrides) -> Calendar:
    s = timedelta(seconds=1)
    fields = dict(
        applications_close=now + 30 * s,
        reporting_opens=now + 3 * s,
        reporting_closes=now + closes_in * s,
        cycle_ends=now + 60 * s,
        award_valid_until=now + 90 * s,
        reminders_before=[5 * s, 2 * s],
        verification_sla=60 * s,
        evaluation_sla=60 * s,
    )
    return Calendar(**(fields | overrides))


@asynccontextmanager
async def stack(settings: Settings, client: Client, engine: Engine, smtp_port: int) -> AsyncIterator[httpx.AsyncClient]:
    """The API and a worker of their own, on a task queue of their own, mailing to the test's SMTP server."""
    own = settings.model_copy(update={"task_queue": f"p2ham-mail-{uuid.uuid4().hex[:8]}"})
    mail = Mailer(host="127.0.0.1", port=smtp_port, sender="p2ham@example.go.id")
    async with build_worker(client, engine, own.task_queue, mail, ditjen_email="ditjen@example.go.id"):
        app = create_app(own, client=client)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://p2ham.test") as http:
            http.settings = own  # type: ignore[attr-defined]
            yield http


async def reporting_case(http: httpx.AsyncClient, year: int, unit: str, cal: Calendar) -> Driver:
    d = await open_case(http, http.settings, year, unit, cal, email=UNIT_EMAIL)  # type: ignore[attr-defined]
    kanwil = {
        "code": "KANWIL-DKI",
        "name": "Kanwil DKI Jakarta",
        "kind": "kanwil",
        "region": "KANWIL-DKI",
        "email": KANWIL_EMAIL,
    }
    await d.http.post("/units", json=kanwil, headers=d.officials["admin"])
    await declare(d, datetime.now(UTC) + timedelta(seconds=1), WAIT)
    await d.wait_until("operator", lambda v: v["stage"] == "pelaporan", "the reporting window", WAIT)
    return d


def outbox(engine: Engine, year: int, unit: str, kind: str) -> list[NotificationRow]:
    with Session(engine) as s:
        rows = s.exec(
            select(NotificationRow).where(
                NotificationRow.year == year, NotificationRow.unit == unit, NotificationRow.kind == kind
            )
        )
        return sorted(rows, key=lambda r: (r.due_at, r.key))


async def test_reminders_before_the_window_closes_and_the_kanwil_escalation(
    settings: Settings, client: Client, engine: Engine, year: int, token
):
    inbox = Inbox()
    with smtp_server(inbox) as port:
        async with stack(settings, client, engine, port) as http:
            cal = calendar(datetime.now(UTC), closes_in=14)
            d = await reporting_case(http, year, "KANIM-INGAT", cal)
            await d.wait_until("operator", lambda v: v["final"], "the window to close", WAIT)
            closed = (await d.call("GET", f"{d.case_path}/history", "ditjen"))["entries"][-1]
            # This test's cycle year only: other tests' cases of the same region are in the same database.
            mine = {"year": year}
            feed = (await http.get("/notifications", params=mine, headers=d.officials["operator"])).json()
            kanwil_feed = (await http.get("/notifications", params=mine, headers=d.officials["kanwil"])).json()
            other = (
                await http.get("/notifications", params=mine, headers=token("kanwil", region="KANWIL-JATIM"))
            ).json()

    assert closed["event"] == "tutup_pelaporan"
    reminders = outbox(engine, year, "KANIM-INGAT", "batas_pelaporan")
    assert [(r.role, r.due_at) for r in reminders] == [
        ("kepala_unit", cal.reporting_closes - timedelta(seconds=5)),
        ("operator_unit", cal.reporting_closes - timedelta(seconds=5)),
        ("kepala_unit", cal.reporting_closes - timedelta(seconds=2)),
        ("operator_unit", cal.reporting_closes - timedelta(seconds=2)),
    ]
    to_unit = [m for m in inbox.mails if UNIT_EMAIL in m.to and "Batas pelaporan" in m.subject]
    assert len(to_unit) == 2, "one email per reminder to the unit's address (operator and head share it)"
    escalations = [m for m in inbox.mails if KANWIL_EMAIL in m.to]
    assert len(escalations) == 1 and "belum melapor" in escalations[0].subject
    # The deadline in the unit's own zone (the test units keep Jakarta time), written as Bahasa Indonesia writes it.
    wib = cal.reporting_closes.astimezone(timezone(timedelta(hours=7)))
    subject = to_unit[0].subject.replace("\r\n", "")  # unfolded, as RFC 5322 says
    assert (
        subject == reminders[0].subject == f"[P2HAM] Batas pelaporan Kantor Imigrasi KANIM-INGAT: {moment('id', wib)}"
    )
    assert moment("id", wib).endswith(" WIB") and f" {wib.year} " in subject
    assert len({m.message_id for m in inbox.mails}) == len(inbox.mails), "no email was sent twice"
    closed_at = datetime.fromisoformat(closed["at"])
    for mail, due in zip(to_unit, [r.due_at for r in reminders][::2], strict=True):
        assert due <= mail.received, "a reminder arrived before it was due"
    assert all(m.received <= closed_at + timedelta(seconds=1) for m in to_unit + escalations)
    assert "KANIM-INGAT" in feed[0]["subject"] or "KANIM-INGAT" in feed[0]["body"]
    assert {n["kind"] for n in feed} >= {"batas_pelaporan"}
    kanwil_kinds = {n["kind"] for n in kanwil_feed}
    assert "eskalasi_pelaporan" in kanwil_kinds and kanwil_kinds <= {"eskalasi_pelaporan", "pencanangan"}
    assert other == []


async def test_no_reminder_after_the_unit_submitted(settings: Settings, client: Client, engine: Engine, year: int):
    inbox = Inbox()
    with smtp_server(inbox) as port:
        async with stack(settings, client, engine, port) as http:
            # The verification's service level ends after the would-be reminders: its escalation proves time passed.
            cal = calendar(datetime.now(UTC), closes_in=14, verification_sla=timedelta(seconds=12))
            d = await reporting_case(http, year, "KANIM-RAJIN", cal)
            await report(d)
            for _ in range(int(WAIT * 5)):
                if outbox(engine, year, "KANIM-RAJIN", "eskalasi_verifikasi"):
                    break
                await asyncio.sleep(0.2)
    assert outbox(engine, year, "KANIM-RAJIN", "eskalasi_verifikasi"), "the verification escalation never came"
    assert datetime.now(UTC) > cal.reporting_closes
    assert outbox(engine, year, "KANIM-RAJIN", "batas_pelaporan") == []
    assert not [m for m in inbox.mails if "Batas pelaporan" in m.subject]
    assert [m.to for m in inbox.mails if "Eskalasi: verifikasi" in m.subject] == [["ditjen@example.go.id"]]


async def test_perpanjang_moves_the_reminders(settings: Settings, client: Client, engine: Engine, year: int):
    inbox = Inbox()
    with smtp_server(inbox) as port:
        async with stack(settings, client, engine, port) as http:
            cal = calendar(datetime.now(UTC), closes_in=12)
            d = await reporting_case(http, year, "KANIM-PANJANG", cal)
            new_deadline = cal.reporting_closes + timedelta(seconds=5)
            await d.send(
                "perpanjang", "ditjen", {"batas_baru": new_deadline.isoformat(), "alasan": "aplikasi gangguan"}
            )
            await d.wait_until("operator", lambda v: v["final"], "the extended window to close", WAIT)
    due = sorted({r.due_at for r in outbox(engine, year, "KANIM-PANJANG", "batas_pelaporan")})
    assert due == [new_deadline - timedelta(seconds=5), new_deadline - timedelta(seconds=2)]


async def test_no_reminder_after_batalkan(settings: Settings, client: Client, engine: Engine, year: int):
    inbox = Inbox()
    with smtp_server(inbox) as port:
        async with stack(settings, client, engine, port) as http:
            cal = calendar(datetime.now(UTC), closes_in=12, reporting_opens=datetime.now(UTC) + timedelta(seconds=8))
            d = await open_case(http, http.settings, year, "KANIM-BATAL", cal, email=UNIT_EMAIL)  # type: ignore
            await declare(d, datetime.now(UTC) + timedelta(seconds=1), WAIT)
            await d.send("batalkan", "operator", {"alasan": "unit digabung dengan kantor lain"})
            handle = client.get_workflow_handle(case_workflow_id(year, "KANIM-BATAL"))
            await asyncio.wait_for(handle.result(), WAIT)
            description = await handle.describe()
    assert description.status == WorkflowExecutionStatus.COMPLETED  # no timer is left to remind anybody
    with Session(engine) as s:
        late = s.exec(
            select(NotificationRow).where(
                NotificationRow.unit == "KANIM-BATAL",
                NotificationRow.year == year,
                NotificationRow.kind != "pencanangan",
            )
        ).all()
    assert [r.kind for r in late if r.due_at > datetime.now(UTC) - timedelta(seconds=30)] in (
        [],
        ["persiapan_pelaporan"],
    )


async def polled(client: Client, task_queue: str) -> None:
    """Until a worker polls `task_queue` for workflow tasks: a worker process starts slowly on a busy machine."""
    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    deadline = time.monotonic() + WAIT
    while not (await client.workflow_service.describe_task_queue(request)).pollers:
        assert time.monotonic() < deadline, f"no worker polled {task_queue}"
        await asyncio.sleep(0.2)


@pytest.mark.parametrize("kill", [signal.SIGKILL])
async def test_a_worker_killed_while_emailing_still_delivers_exactly_one(
    settings: Settings, client: Client, engine: Engine, temporal: WorkflowEnvironment, year: int, kill: int
):
    """kill -9 of the worker while the SMTP server holds the reminder's message: a new worker delivers it, once."""
    inbox = Inbox(hold=threading.Event(), held_subject="Batas pelaporan")
    with smtp_server(inbox) as port:
        own = settings.model_copy(update={"task_queue": f"p2ham-kill-{uuid.uuid4().hex[:8]}"})
        env = os.environ | {
            "P2HAM_TEMPORAL_ADDRESS": client.service_client.config.target_host,
            "P2HAM_DATABASE_URL": own.database_url,
            "P2HAM_TASK_QUEUE": own.task_queue,
            "P2HAM_SMTP_HOST": "127.0.0.1",
            "P2HAM_SMTP_PORT": str(port),
            "P2HAM_EVIDENCE_DIR": str(own.evidence_dir),
        }
        root = Path(__file__).resolve().parent.parent

        def start_worker() -> subprocess.Popen:
            return subprocess.Popen(
                [sys.executable, "worker.py"], cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )

        worker = start_worker()
        try:
            # The calendar runs from here in seconds: its reminder must not come and go while the worker still starts.
            await polled(client, own.task_queue)
            app = create_app(own, client=client)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://p2ham.test") as http:
                # Room for the case to reach pelaporan on a busy machine before its reminder is due (26 s).
                cal = calendar(datetime.now(UTC), closes_in=30, reminders_before=[timedelta(seconds=4)])
                d = await open_case(http, own, year, "KANIM-KILL", cal, email=UNIT_EMAIL)
                await declare(d, datetime.now(UTC) + timedelta(seconds=1), WAIT)
                deadline = time.monotonic() + WAIT
                while not inbox.held.is_set():  # the reminder's email is in flight, held by the SMTP server
                    assert time.monotonic() < deadline, "no reminder email was attempted"
                    await asyncio.sleep(0.1)
                worker.send_signal(kill)
                worker.wait(10)
                inbox.hold.set()  # the held message is refused: it was never delivered
                worker = start_worker()
                while not [m for m in inbox.mails if "Batas pelaporan" in m.subject]:
                    assert time.monotonic() < deadline + WAIT, "the reminder was never delivered after the restart"
                    await asyncio.sleep(0.2)
                # The new worker marks the outbox row right after the SMTP server accepts: wait for it, then stop.
                while not [r for r in outbox(engine, year, "KANIM-KILL", "batas_pelaporan") if r.emailed_at]:
                    assert time.monotonic() < deadline + 2 * WAIT, "the delivered reminder was never marked as emailed"
                    await asyncio.sleep(0.2)
                await d.wait_until("operator", lambda v: v["final"], "the window to close", WAIT)
        finally:
            worker.kill()
            worker.wait(10)
    delivered = [m for m in inbox.mails if "Batas pelaporan" in m.subject]
    assert len(delivered) == 1
    rows = outbox(engine, year, "KANIM-KILL", "batas_pelaporan")
    assert len(rows) == 2 and [r.role for r in rows if r.emailed_at] == ["operator_unit"]


def notice(kind: str, zone: str, deadline: datetime) -> Notice:
    unit = UnitInfo(code="LAPAS-MKS", name="Lapas Makassar", kind="upt_pemasyarakatan", region="KANWIL-SULSEL")
    return Notice(
        key=f"{kind}/1",
        kind=kind,
        at=deadline - timedelta(days=3),
        deadline=deadline,
        year=2026,
        unit=unit.model_copy(update={"zona_waktu": zone}),
        stage="pelaporan",
        recipients=[],
    )


def test_a_reminder_dates_the_deadline_in_the_units_zone_in_bahasa_indonesia_or_english():
    deadline = datetime(2026, 12, 9, 16, 30, tzinfo=UTC)  # 23.30 WIB on 9 December, 00.30 WITA on 10 December
    operator = Recipient(role="operator_unit", unit="LAPAS-MKS")
    subject, body = render(notice("batas_pelaporan", "WITA", deadline), operator)
    assert subject == "[P2HAM] Batas pelaporan Lapas Makassar: 10 Desember 2026 00.30 WITA"
    assert body.startswith("Yth. Operator Lapas Makassar,\n\nLaporan indikator P2HAM Lapas Makassar belum dikirim.")
    assert "Batas waktu pengiriman: 10 Desember 2026 00.30 WITA." in body
    subject, _ = render(notice("batas_pelaporan", "WIB", deadline), operator)
    assert subject.endswith(": 9 Desember 2026 23.30 WIB")
    subject, body = render(notice("batas_pelaporan", "WIT", deadline), operator, "en")
    assert subject == "[P2HAM] Reporting deadline of Lapas Makassar: December 10, 2026 1:30\u202fAM WIT"
    assert body.startswith("Dear operator of Lapas Makassar,") and "Yth." not in body


@pytest.mark.parametrize("locale", ["id", "en"])
@pytest.mark.parametrize("kind", sorted(t.removesuffix(".txt") for t in TEMPLATES.list_templates() if t[0] != "_"))
def test_every_notice_renders_every_word_from_the_catalogue(kind: str, locale: str):
    deadline = datetime(2026, 12, 9, 16, 30, tzinfo=UTC)
    for recipient in (Recipient(role="kepala_unit"), Recipient(role="kanwil", name="Ibu Sari")):
        subject, body = render(notice(kind, "WITA", deadline), recipient, locale)
        text = f"{subject}\n{body}"
        assert subject.startswith("[P2HAM] ") and body.strip()
        assert "mail." not in text and "{" not in text and "_" not in text  # no message id, placeholder or identifier
        if "batas" in TEMPLATES.loader.get_source(TEMPLATES, f"{kind}.txt")[0]:
            assert ("10 Desember 2026 00.30 WITA" if locale == "id" else "December 10, 2026") in text
        assert ("Yth." in body) == (locale == "id") and ("Dear" in body) == (locale == "en")
