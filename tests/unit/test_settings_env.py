"""A child process of the embedded platform (the stream job) gets the parent's settings back
from the TRAWL_* variables trawl.devservers.settings_env makes of them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from trawl.config import Settings
from trawl.devservers import settings_env


def test_settings_come_back_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = Settings(
        data_dir=tmp_path / "data",
        mongo_port=27999,
        mongo_use_embedded=False,
        stream_checkpoint_interval_seconds=0.5,
        stream_dedupe_ttl_hours=1e-3,
        crawler_user_agent="Bot/1.0 (+https://example.com/bot; a=b)",
        graphql_debug_stats=True,
        delivery_secrets_key="key-for-the-child",
    )
    for name in list(os.environ):
        if name.startswith("TRAWL_"):
            monkeypatch.delenv(name)
    for name, value in settings_env(original).items():
        monkeypatch.setenv(name, value)
    assert Settings().model_dump() == original.model_dump()


def test_relative_paths_become_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert settings_env(Settings(data_dir=Path(".data")))["TRAWL_DATA_DIR"] == str(
        tmp_path / ".data"
    )
