"""The stream job's SystemToken against an issuer (httpx.MockTransport) whose 200 answer is
not a usable token: a ServicesError naming the status and the start of the body, never a
bare KeyError or JSONDecodeError."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from trawl.config import Settings
from trawl.stream.services import ServicesError, ServicesUnavailable, SystemToken


def token_from(tmp_path: Path, response: httpx.Response) -> SystemToken:
    settings = Settings(data_dir=tmp_path)
    http = httpx.Client(transport=httpx.MockTransport(lambda request: response))
    return SystemToken(settings, http)


@pytest.mark.parametrize(
    ("response", "shown"),
    [
        (httpx.Response(200, text="<html>proxy login</html>"), "<html>proxy login</html>"),
        (httpx.Response(200, json={"token_type": "Bearer"}), "token_type"),
        (httpx.Response(200, json=["not", "an", "object"]), "not"),
        (httpx.Response(200, json={"access_token": ""}), "access_token"),
        (httpx.Response(200, json={"access_token": 7}), "access_token"),
        (httpx.Response(200, json={"access_token": "t", "expires_in": "soon"}), "soon"),
    ],
)
def test_an_unusable_token_answer_is_a_services_error(
    tmp_path: Path, response: httpx.Response, shown: str
) -> None:
    with pytest.raises(ServicesError) as caught:
        token_from(tmp_path, response).get()
    assert not isinstance(caught.value, ServicesUnavailable)
    message = str(caught.value)
    assert "answered 200" in message and "access_token" in message and shown in message
    assert caught.value.code == "UNAUTHENTICATED"


def test_the_body_in_the_error_is_truncated(tmp_path: Path) -> None:
    body = "x" * 5000
    with pytest.raises(ServicesError) as caught:
        token_from(tmp_path, httpx.Response(200, text=body)).get()
    assert "x" * 200 in str(caught.value) and "x" * 201 not in str(caught.value)


def test_a_usable_answer_is_cached(tmp_path: Path) -> None:
    calls: list[httpx.Request] = []

    def issue(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, json={"access_token": "system-token", "expires_in": 3600})

    token = SystemToken(
        Settings(data_dir=tmp_path), httpx.Client(transport=httpx.MockTransport(issue))
    )
    assert token.get() == token.get() == "system-token"
    assert len(calls) == 1
