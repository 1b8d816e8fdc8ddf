"""SecantusDB as `trawl up` runs it (trawl.devservers.start_secantus): a separate process on a
loopback port, its WiredTiger files under data_dir/mongo, its output in data_dir/logs. Records
written before a stop are there after a restart; a taken port or a missing `secantusd-py` stop
start-up with an error that says what to change."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient

from tests.support.platform import free_port
from trawl.config import Settings
from trawl.devservers import ChildStartError, start_secantus

Doc = dict[str, Any]


def secantus_settings(data_dir: Path, port: int) -> Settings:
    return Settings(data_dir=data_dir, mongo_host="127.0.0.1", mongo_port=port)


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def records(settings: Settings) -> Iterator[MongoClient[Doc]]:
    client: MongoClient[Doc] = MongoClient(settings.mongo_url, serverSelectionTimeoutMS=5000)
    try:
        yield client
    finally:
        client.close()


async def test_records_survive_a_restart_on_the_same_storage(tmp_path: Path) -> None:
    settings = secantus_settings(tmp_path, free_port())
    server = await start_secantus(settings)
    try:
        for client in records(settings):
            client.trawl.records.insert_one({"_id": "run-1-000001", "org": "org-a", "n": 1})
            assert client.trawl.records.find_one({"org": "org-a"}) == {
                "_id": "run-1-000001",
                "org": "org-a",
                "n": 1,
            }
    finally:
        await server.stop()
    assert not listening(settings.mongo_port)
    assert (tmp_path / "mongo" / "secantusd.toml").exists()
    assert (tmp_path / "logs" / "secantus.log").exists()

    server = await start_secantus(settings)
    try:
        for client in records(settings):
            assert client.trawl.records.count_documents({}) == 1
            assert client.trawl.records.find_one({"_id": "run-1-000001"}) == {
                "_id": "run-1-000001",
                "org": "org-a",
                "n": 1,
            }
    finally:
        await server.stop()
    assert not listening(settings.mongo_port)


async def test_a_taken_port_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = int(other.getsockname()[1])
        with pytest.raises(ChildStartError, match=f"127.0.0.1:{port}: the port is taken"):
            await start_secantus(secantus_settings(tmp_path, port))
    # Nothing was started, so nothing holds the storage or the port.
    assert not (tmp_path / "logs" / "secantus.log").exists()
    assert not listening(port)


async def test_a_missing_binary_is_refused_with_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An interpreter whose bin directory has no secantusd-py (the package not installed).
    monkeypatch.setattr(sys, "executable", str(tmp_path / "venv" / "bin" / "python"))
    with pytest.raises(ChildStartError, match="SecantusDB is not installed") as caught:
        await start_secantus(secantus_settings(tmp_path, free_port()))
    assert "TRAWL_MONGO_URI" in str(caught.value)
