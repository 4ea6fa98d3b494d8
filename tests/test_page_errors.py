"""An address of the pages that cannot be read or does not exist is answered with a page in words, in the reader's
language, never with the API's JSON; the API keeps answering JSON at its own addresses."""

import re

import httpx
import pytest

from tests.test_read_rules import signed_in

MAIN = re.compile(r"<main[^>]*>(.*?)</main>", re.S)


def words(html: str) -> str:
    main = MAIN.search(html)
    assert main, html[:500]
    return " ".join(re.sub(r"<[^>]+>", " ", main.group(1)).split())


@pytest.mark.parametrize(
    ("path", "status", "said"),
    [
        ("/ui/kasus?tahun=dua-ribu", 422, "Alamat halaman ini tidak dapat dibaca"),  # a year typed into the URL
        ("/ui/upacara?tahun=dua-ribu", 422, "Alamat halaman ini tidak dapat dibaca"),
        ("/ui/dasbor/dua-ribu", 422, "Alamat halaman ini tidak dapat dibaca"),
        ("/ui/kasus/99999/KANIM-A", 422, "99999 bukan tahun siklus"),  # the service's own refusal, in words
        ("/ui/halaman-yang-tidak-ada", 404, "Halaman tidak ditemukan"),
    ],
)
async def test_a_bad_page_address_is_a_page_in_words(api: httpx.AsyncClient, path: str, status: int, said: str):
    async with signed_in(api, "ditjen_ham", {"sub": "dj-galat"}) as browser:
        answer = await browser.get(path)
        assert answer.status_code == status, answer.text[:500]
        assert answer.headers["content-type"].startswith("text/html"), answer.headers["content-type"]
        assert said in words(answer.text), words(answer.text)
        assert "Periksa alamat yang Anda ketik" in words(answer.text) or status != 404
        english = await browser.get(path, headers={"Accept-Language": "en"}, params={"lang": "en"})
        assert english.headers["content-type"].startswith("text/html")
        assert 'lang="en"' in english.text


async def test_the_public_register_without_login_answers_a_page_too(api: httpx.AsyncClient):
    answer = await api.get("/publik/predikat/dua-ribu")
    assert answer.status_code == 422 and answer.headers["content-type"].startswith("text/html")
    assert "Alamat halaman ini tidak dapat dibaca" in words(answer.text)


async def test_the_api_keeps_answering_json(api: httpx.AsyncClient, token):
    answer = await api.get("/cycles/dua-ribu/dashboard", headers=token("ditjen_ham"))
    assert answer.status_code == 422 and answer.json()["error"] == "invalid_payload"
    missing = await api.get("/tidak-ada", headers=token("ditjen_ham"))
    assert missing.status_code == 404 and missing.json()["error"] == "http_error"
