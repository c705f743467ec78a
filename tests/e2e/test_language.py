"""Hints in the person's language: answers with a hint follow Accept-Language (English and
German; anything else falls back to English), and say which language they are in."""

from __future__ import annotations

from journeys import Client, registered, scan


def _failed_login(accept_language: str | None):
    _, username = registered()
    device = Client()
    scan(device.verify_login(username).json()["iproov"]["token"], "failed", "too_dark")
    headers = {"Accept-Language": accept_language} if accept_language else {}
    return device.call("POST", "/v1/login", credential=device.attempt, headers=headers)


def test_a_german_speaking_person_gets_the_hint_in_german():
    # GIVEN a failed login scan, asked in German
    r = _failed_login("de-DE,de;q=0.9,en;q=0.5")
    # THEN the hint is German, the code and reason are not, and the answer says so
    assert r.status_code == 401, r.text
    assert r.json()["hint"] == "Suchen Sie einen helleren Ort auf."
    assert r.json()["error"] == "verification_failed"
    assert r.json()["reason"] == "too_dark"
    assert r.headers["Content-Language"] == "de"
    assert "Accept-Language" in r.headers["Vary"]


def test_an_unsupported_language_falls_back_to_english():
    # GIVEN the same failure asked in French, and with no preference
    for accept in ("fr-FR,fr;q=0.9", None):
        r = _failed_login(accept)
        # THEN the hint is English
        assert r.status_code == 401, r.text
        assert r.json()["hint"] == "Find a brighter place."
        assert "Content-Language" not in r.headers
