"""Language choice and the formats a reader sees (the catalogues' content is tested where the words are used)."""

from datetime import date, datetime, timedelta, timezone

import pytest

from service.i18n import moment, negotiate, render


@pytest.mark.parametrize(
    ("accept", "lang", "expected"),
    [
        (None, None, "id"),
        ("en", None, "en"),
        ("en-US,en;q=0.9", None, "en"),
        ("fr, en;q=0.5", None, "en"),
        ("fr, de", None, "id"),
        ("en;q=0.2, id;q=0.8", None, "id"),
        ("en", "id", "id"),
        (None, "en", "en"),
        ("en", "xx", "en"),
    ],
)
def test_language_from_lang_then_accept_language_then_bahasa_indonesia(accept, lang, expected):
    assert negotiate(accept, lang) == expected


def test_dates_and_moments_in_the_readers_language_and_the_zone_they_carry():
    wita = timezone(timedelta(hours=8))
    assert moment("id", date(2026, 12, 10)) == "10 Desember 2026"
    assert moment("en", date(2026, 12, 10)) == "December 10, 2026"
    assert moment("id", datetime(2026, 12, 10, 9, 0, tzinfo=wita)) == "10 Desember 2026 09.00 WITA"


def test_plural_forms_from_the_catalogue():
    from service.i18n import ngettext

    assert [ngettext("id", "audit.cli.entri", "audit.cli.entri_banyak", n) for n in (1, 3)] == ["1 entri", "3 entri"]
    assert [ngettext("en", "audit.cli.entri", "audit.cli.entri_banyak", n) for n in (1, 3)] == ["1 entry", "3 entries"]


def test_a_sentence_stored_before_reasons_were_data_is_shown_as_written():
    assert render("pencanangan needs a Forkopimda witness", "id") == "pencanangan needs a Forkopimda witness"


def test_every_message_id_has_an_indonesian_and_an_english_text_and_every_text_is_used():
    from babel.messages.pofile import read_po

    from service.i18n import catalogue_path
    from service.messages import message_ids

    used = message_ids()
    for locale in ("id", "en"):
        with catalogue_path(locale).open("rb") as po:
            catalog = read_po(po, locale=locale)
        # A plural message by its singular id, translated when every one of the locale's forms is.
        texts = {
            m.id[0] if m.pluralizable else m.id: all(m.string) if m.pluralizable else m.string for m in catalog if m.id
        }
        assert not used - set(texts), f"{locale}: ids without a text: {sorted(used - set(texts))}"
        assert not set(texts) - used, f"{locale}: ids no code uses: {sorted(set(texts) - used)}"
        assert all(texts.values()), f"{locale}: untranslated: {sorted(k for k, v in texts.items() if not v)}"


def test_display_names_in_both_languages():
    from service.i18n import display

    assert display("id", "stage", "pencanangan_terjadwal") == "Pencanangan terjadwal"
    assert display("en", "stage", "pencanangan_terjadwal") == "Pencanangan scheduled"
    assert display("id", "role", "ketua_penilai") == "Ketua tim penilai"
    assert display("en", "role", "ketua_penilai") == "Head of the assessment team"
