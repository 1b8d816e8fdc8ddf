"""Helpers for tests that need the MariaDB test server (started by scripts/test.sh, or by
hand with `bash scripts/mariadb.sh start` and TRAWL_TEST_MARIADB_URL=$(bash scripts/mariadb.sh
url)). A plain module, not a conftest: import what you need.

Without TRAWL_TEST_MARIADB_URL the MariaDB tests fail loudly, so a run that silently lost
its server cannot pass; TRAWL_ALLOW_NO_MARIADB=1 turns those failures into skips."""

from __future__ import annotations

import os
import re

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

MARIADB_URL_ENV = "TRAWL_TEST_MARIADB_URL"
ALLOW_NO_MARIADB_ENV = "TRAWL_ALLOW_NO_MARIADB"

_NAME = re.compile(r"[A-Za-z0-9_]{1,64}")


def mariadb_base_url() -> str | None:
    """The server URL without a database name (e.g. mysql+asyncmy://trawl:trawl@127.0.0.1:3307/),
    or None when no server was provided."""
    url = os.environ.get(MARIADB_URL_ENV, "").strip()
    return url or None


def require_mariadb_url() -> str:
    """The server URL; fails the test when it is missing, or skips it when
    TRAWL_ALLOW_NO_MARIADB=1."""
    url = mariadb_base_url()
    if url is not None:
        return url
    reason = (
        f"{MARIADB_URL_ENV} is not set: run the tests with scripts/test.sh (or `make test`), "
        f"or start the server with `bash scripts/mariadb.sh start` and export "
        f"{MARIADB_URL_ENV}=$(bash scripts/mariadb.sh url)"
    )
    if os.environ.get(ALLOW_NO_MARIADB_ENV) == "1":
        pytest.skip(f"{reason} ({ALLOW_NO_MARIADB_ENV}=1)")
    pytest.fail(f"{reason}; set {ALLOW_NO_MARIADB_ENV}=1 to skip these tests instead")


def _checked(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a safe database name: {name!r}")
    return name


def database_url(base_url: str, name: str) -> str:
    """`base_url` pointing at database `name` (utf8mb4 connection charset)."""
    url: URL = make_url(base_url).set(database=_checked(name))
    if "charset" not in url.query:
        url = url.update_query_dict({"charset": "utf8mb4"})
    return url.render_as_string(hide_password=False)


async def _execute(base_url: str, *statements: str) -> None:
    engine = create_async_engine(base_url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            for statement in statements:
                await conn.execute(text(statement))
            await conn.commit()
    finally:
        await engine.dispose()


async def create_database(base_url: str, name: str) -> str:
    """Creates database `name` (utf8mb4) on the server and returns its full URL."""
    await _execute(
        base_url,
        f"CREATE DATABASE `{_checked(name)}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
    )
    return database_url(base_url, name)


async def drop_database(base_url: str, name: str) -> None:
    """Drops database `name` if it exists."""
    # sql_notes=0: no "database doesn't exist" note, which asyncmy would log as a warning.
    await _execute(
        base_url, "SET SESSION sql_notes = 0", f"DROP DATABASE IF EXISTS `{_checked(name)}`"
    )


# -- MongoDB (FerretDB from scripts/ferretdb.sh) -----------------------------------------------
# Started by scripts/test.sh, or by hand with `bash scripts/ferretdb.sh start` and
# TRAWL_TEST_MONGO_URL=$(bash scripts/ferretdb.sh url). Missing -> the tests fail loudly;
# TRAWL_ALLOW_NO_MONGO=1 turns those failures into skips.

MONGO_URL_ENV = "TRAWL_TEST_MONGO_URL"
ALLOW_NO_MONGO_ENV = "TRAWL_ALLOW_NO_MONGO"


def mongo_url() -> str | None:
    """The MongoDB URI of the test server (e.g. mongodb://127.0.0.1:27018/), or None when no
    server was provided."""
    url = os.environ.get(MONGO_URL_ENV, "").strip()
    return url or None


def require_mongo_url() -> str:
    """The MongoDB URI; fails the test when it is missing, or skips it when
    TRAWL_ALLOW_NO_MONGO=1."""
    url = mongo_url()
    if url is not None:
        return url
    reason = (
        f"{MONGO_URL_ENV} is not set: run the tests with scripts/test.sh (or `make test`), "
        f"or start the server with `bash scripts/ferretdb.sh start` and export "
        f"{MONGO_URL_ENV}=$(bash scripts/ferretdb.sh url)"
    )
    if os.environ.get(ALLOW_NO_MONGO_ENV) == "1":
        pytest.skip(f"{reason} ({ALLOW_NO_MONGO_ENV}=1)")
    pytest.fail(f"{reason}; set {ALLOW_NO_MONGO_ENV}=1 to skip these tests instead")
