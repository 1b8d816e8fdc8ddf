"""Pure rules of delivery destinations: file-name templates, each medium's config checks, and
the encryption of their secrets (key generation, rotation, binding to the row)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from trawl.config import Settings
from trawl.delivery.config_fields import ConfigError
from trawl.delivery.destination_config import build_destination, check_complete, clean_config
from trawl.delivery.media import EmailDestination, SftpDestination
from trawl.domain.errors import InvalidInput
from trawl.domain.reports.file_names import check_template, render_file_name, slugify
from trawl.domain.secrets import SecretBox, SecretsError, generate_key

FINISHED = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{report_name}-{run_date}.{format_ext}", "daily-prices-eu-2030-01-02.csv.gz"),
        ("{run_id}_{run_time}.{format_ext}", "run-9_030405.csv.gz"),
        ("export {run_date}.{format_ext}", "export 2030-01-02.csv.gz"),
        ("{{literal}}-{run_id}", "{literal}-run-9"),
    ],
)
def test_templates_render_to_one_safe_file_name(template: str, expected: str) -> None:
    check_template("t", template)
    name = render_file_name(template, "Daily Prices (EU)", "run-9", FINISHED, ".csv.gz")
    assert name == expected


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{report}.csv", "unknown placeholder {report}"),
        ("{run_id.__class__}", "unknown placeholder"),
        ("{run_date:%Y}", "takes no format"),
        ("a/{run_id}", "'/'"),
        ("..{run_id}", ".."),
        (".hidden-{run_id}", "start with '.'"),
        ("{run_id", "not a valid template"),
        ("a\tb", "control characters"),
        ("", "must not be empty"),
    ],
)
def test_unsafe_or_unknown_templates_are_refused(template: str, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_template("destinations.0.fileNameTemplate", template)
    assert refused.value.field == "destinations.0.fileNameTemplate"
    assert message in refused.value.message


def test_an_accepted_template_renders_for_the_longest_report_name_and_extension() -> None:
    """The check renders the template with the longest slug and extension, so a template
    that passes it never fails later, at delivery, for a long report name."""
    padding = "x" * 150
    with pytest.raises(InvalidInput) as refused:
        check_template("t", f"{padding}-{{report_name}}.{{format_ext}}")
    assert "at most 255 characters" in refused.value.message
    accepted = check_template("t", f"{padding[:100]}-{{report_name}}.{{format_ext}}")
    name = render_file_name(accepted, "N" * 200, "run-9", FINISHED, ".parquet.zip")
    assert len(name) <= 255


def test_report_names_are_slugified() -> None:
    assert slugify("Prix quotidiens — Été / 2030") == "prix-quotidiens-ete-2030"
    assert slugify("///") == "report"


@pytest.mark.parametrize(
    ("medium", "config", "field"),
    [
        ("sftp", {"host": "h", "username": "u", "port": "22"}, "config.port"),
        ("sftp", {"host": "sftp://h", "username": "u"}, "config.host"),
        ("ftp", {"host": "h", "username": "u", "tls": "yes"}, "config.tls"),
        ("s3", {"bucket": "Not_A_Bucket", "region": "eu-west-1", "accessKeyId": "A"}, "config.bucket"),
        ("email", {"host": "h", "from": "not-an-address", "to": ["a@example.com"]}, "config.from"),
        ("email", {"host": "h", "from": "a@example.com", "to": []}, "config.to"),
        ("webhook", {"url": "https://user:pw@example.com/h"}, "config.url"),
        ("webhook", {"url": "https://example.com", "extra": 1}, "config.extra"),
    ],
)  # fmt: skip
def test_config_errors_point_at_the_field(medium: str, config: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as refused:
        clean_config(medium, config)
    assert refused.value.field == field


def test_webhook_http_is_allowed_to_loopback_only() -> None:
    assert clean_config("webhook", {"url": "http://127.0.0.1:8080/h"})["url"]
    assert clean_config("webhook", {"url": "http://localhost/h"})["url"]
    with pytest.raises(ConfigError):
        clean_config("webhook", {"url": "http://10.0.0.1/h"})


def test_email_password_needs_a_username() -> None:
    config = clean_config("email", {"host": "h", "from": "a@example.com", "to": ["b@example.com"]})
    with pytest.raises(ConfigError) as refused:
        check_complete("email", config, {"password": "p"})
    assert refused.value.field == "config.username"


def test_config_and_secrets_build_the_medium_destination() -> None:
    sftp = build_destination(
        "sftp", {"host": "h", "username": "u", "port": 2222}, {"password": "p"}, timeout_seconds=3
    )
    assert sftp == SftpDestination(
        host="h", username="u", port=2222, password="p", timeout_seconds=3
    )
    email = build_destination(
        "email", {"host": "h", "from": "a@example.com", "to": ["b@example.com"]}, {}
    )
    assert isinstance(email, EmailDestination) and email.recipients == ("b@example.com",)
    assert "password" not in repr(sftp)


def test_generated_key_is_private_and_reused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    token = SecretBox.from_settings(settings).encrypt("d1", {"password": "hunter2"})
    assert settings.delivery_secrets_key_path.stat().st_mode & 0o777 == 0o600
    assert "hunter2" not in token
    assert SecretBox.from_settings(settings).decrypt("d1", token) == {"password": "hunter2"}


def test_previous_keys_still_decrypt_after_rotation(tmp_path: Path) -> None:
    old, new = generate_key(), generate_key()
    before = Settings(data_dir=tmp_path, delivery_secrets_key=old)  # type: ignore[arg-type]
    token = SecretBox.from_settings(before).encrypt("d1", {"secret": "s"})
    after = Settings(
        data_dir=tmp_path,
        delivery_secrets_key=new,  # type: ignore[arg-type]
        delivery_secrets_previous_keys=f" {old} ",  # type: ignore[arg-type]
    )
    rotated = SecretBox.from_settings(after)
    assert rotated.decrypt("d1", token) == {"secret": "s"}
    # New ciphertexts use the new key: the old key alone cannot open them.
    with pytest.raises(SecretsError):
        SecretBox.from_settings(before).decrypt("d1", rotated.encrypt("d1", {"secret": "s"}))


def test_a_ciphertext_moved_to_another_row_does_not_decrypt(tmp_path: Path) -> None:
    box = SecretBox.from_settings(Settings(data_dir=tmp_path))
    with pytest.raises(SecretsError):
        box.decrypt("d2", box.encrypt("d1", {"password": "p"}))


def test_a_malformed_key_is_refused_without_echoing_it(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, delivery_secrets_key="short-key")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="delivery_secrets_key") as refused:
        SecretBox.from_settings(settings)
    assert "short-key" not in str(refused.value)
