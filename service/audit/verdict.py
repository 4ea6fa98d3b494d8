"""The audit's verdict on one case (the DESIGN contract), and the verdict in words: its differences in the reader's
language, and as lines for a terminal (`p2ham audit`)."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from service.i18n import gettext, render
from workflows.reasons import Reason


class AuditVerdict(BaseModel):
    """The DESIGN contract: ok, differences (each in words, naming the entry), and what each check found.

    The audit produces the differences as reasons (`difference_codes`: message ids and parameters, the same in every
    language); `in_words` fills `differences` in the reader's language where the verdict is answered."""

    year: int
    unit: str
    checked_at: datetime
    ok: bool
    differences: list[str] = []
    difference_codes: list[Reason]
    replay: dict[str, Any]
    chain: dict[str, Any]
    read_model: dict[str, Any]


def in_words(verdict: AuditVerdict, locale: str) -> AuditVerdict:
    return verdict.model_copy(update={"differences": [render(r, locale) for r in verdict.difference_codes]})


def describe_verdict(verdict: AuditVerdict, locale: str) -> list[str]:
    """The verdict as lines for a terminal, in `locale`: one per check, then every difference."""
    replay, chain, read_model = verdict.replay, verdict.chain, verdict.read_model
    rerun_info = replay.get("lifecycle") or {}

    def line(check: str, ok: Any, detail: str) -> str:
        return f"  {check:<16} {verdict_mark(locale, ok):<6} {detail}"

    sources = {
        "temporal": gettext(locale, "audit.cli.dari_temporal"),
        "archive": gettext(locale, "audit.cli.dari_arsip"),
    }
    lines = [
        gettext(
            locale, "audit.cli.judul", unit=verdict.unit, tahun=verdict.year, hasil=verdict_mark(locale, verdict.ok)
        ),
        line(
            gettext(locale, "audit.cli.replay"),
            replay.get("failure") is None and "history_events" in replay,
            gettext(
                locale,
                "audit.cli.replay_rinci",
                n=replay.get("history_events", 0),
                sumber=sources.get(replay.get("history_from", ""), "-"),
            ),
        ),
        line(
            gettext(locale, "audit.cli.siklus"),
            rerun_info.get("ok"),
            gettext(
                locale, "audit.cli.siklus_rinci", n=rerun_info.get("entries", 0), stage=rerun_info.get("stage") or "-"
            ),
        ),
        line(
            gettext(locale, "audit.cli.rantai"),
            chain.get("ok"),
            gettext(locale, "audit.cli.rantai_rinci", n=chain.get("entries", 0), hash=chain.get("last_hash") or "-"),
        ),
        line(
            gettext(locale, "audit.cli.read_model"),
            read_model.get("ok"),
            gettext(
                locale,
                "audit.cli.read_model_rinci",
                stage=read_model.get("stage") or "-",
                seq=read_model.get("seq") or "-",
            ),
        ),
    ]
    lines += [f"  - {render(difference, locale)}" for difference in verdict.difference_codes]
    return lines


def verdict_mark(locale: str, ok: Any) -> str:
    """ "OK" or "GAGAL" ("FAILED"), as a terminal line starts."""
    return gettext(locale, "audit.cli.ok") if ok else gettext(locale, "audit.cli.gagal")
