"""Feature tests of report delivery destinations: GraphQL over HTTP to a running gateway →
ReportsService → database, secrets encrypted at rest and never shown; testDestination against
real loopback servers; the system-only delivery plan over gRPC."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from sqlalchemy import select

from tests.support.delivery_servers import SftpServer, WebhookReceiver
from tests.support.graphql import (
    GraphQLClient,
    Person,
    add_to_project,
    join_org,
    new_owner_with_project,
    new_person,
    new_report,
    trigger_run,
)
from tests.support.platform import RunningPlatform
from tests.support.system_calls import system_caller
from trawl.config import Settings
from trawl.domain.outbox import OutboxEvent
from trawl.domain.reports.models import ReportDestination
from trawl.domain.secrets import SecretBox, SecretsError, generate_key
from trawl.graphql.relay import from_global_id

WEBHOOK_SECRET = "whsec_destination_7d1c9e"
SFTP_PASSWORD = "sftp-pa55-8b2f41"
DESTINATION = """id medium format compression fileNameTemplate config secretsSet"""
SET = f"destinations {{ {DESTINATION} }} report {{ id destinations {{ id }} }}"
REPORT_DESTINATIONS = (
    f"query($id: ID!) {{ report(id: $id) {{ destinations {{ {DESTINATION} }} }} }}"
)


def _raw(global_id: str) -> str:
    return from_global_id(global_id)[1]


def _webhook(url: str = "https://hooks.example.com/trawl", **fields: Any) -> dict[str, Any]:
    return {
        "medium": "WEBHOOK",
        "format": "JSONL",
        "compression": "GZIP",
        "fileNameTemplate": "{report_name}-{run_date}.{format_ext}",
        "config": {"url": url},
        "secrets": {"secret": WEBHOOK_SECRET},
    } | fields


def _sftp(port: int = 22, **fields: Any) -> dict[str, Any]:
    return {
        "medium": "SFTP",
        "format": "CSV",
        "config": {"host": "127.0.0.1", "port": port, "username": "alice", "directory": "out"},
        "secrets": {"password": SFTP_PASSWORD},
    } | fields


async def _set(
    gql: GraphQLClient, person: Person, report_id: str, destinations: list[dict[str, Any]]
) -> dict[str, Any]:
    return await gql.mutate(
        "setReportDestinations",
        {"reportId": report_id, "destinations": destinations},
        SET,
        token=person.token,
    )


async def _stored(platform: RunningPlatform, destination_id: str) -> ReportDestination:
    db = platform.platform.db
    assert db is not None
    async with db.transaction() as session:
        row = await session.scalar(
            select(ReportDestination).where(ReportDestination.id == _raw(destination_id))
        )
    assert row is not None
    return row


def _box(platform: RunningPlatform) -> SecretBox:
    return SecretBox.from_settings(platform.settings)


async def _report_with(
    gql: GraphQLClient, destinations: list[dict[str, Any]]
) -> tuple[Person, str, str, list[dict[str, Any]]]:
    """(owner, project id, report id, the destinations as set)."""
    owner, _, project = await new_owner_with_project(gql)
    report = await new_report(gql, owner, project, name="Daily Prices (EU)")
    payload = await _set(gql, owner, report["id"], destinations)
    assert payload["errors"] == [], payload
    return owner, project, report["id"], payload["destinations"]


async def test_destinations_are_set_listed_and_never_show_secrets(gql: GraphQLClient) -> None:
    owner, _, project = await new_owner_with_project(gql)
    report = await new_report(gql, owner, project)
    payload = await _set(gql, owner, report["id"], [_webhook(), _sftp()])

    assert payload["errors"] == []
    assert WEBHOOK_SECRET not in json.dumps(payload)
    assert SFTP_PASSWORD not in json.dumps(payload)
    hook, sftp = payload["destinations"]
    assert hook["medium"] == "WEBHOOK" and hook["format"] == "JSONL"
    assert hook["compression"] == "GZIP"
    assert hook["config"] == {"url": "https://hooks.example.com/trawl"}
    assert hook["secretsSet"] == ["secret"]
    assert sftp["compression"] == "NONE"
    assert sftp["fileNameTemplate"] == "{report_name}-{run_date}-{run_id}.{format_ext}"
    assert sftp["config"]["port"] == 22 and sftp["secretsSet"] == ["password"]
    assert [d["id"] for d in payload["report"]["destinations"]] == [hook["id"], sftp["id"]]
    read = await gql.execute(REPORT_DESTINATIONS, {"id": report["id"]}, token=owner.token)
    assert read.data["report"]["destinations"] == [hook, sftp]
    assert WEBHOOK_SECRET not in json.dumps(read.body)
    assert SFTP_PASSWORD not in json.dumps(read.body)


async def test_secrets_are_stored_encrypted_and_decrypt_back(
    gql: GraphQLClient, platform: RunningPlatform
) -> None:
    _, _, _, [hook, sftp] = await _report_with(gql, [_webhook(), _sftp()])

    row = await _stored(platform, hook["id"])
    assert row.secrets and WEBHOOK_SECRET not in row.secrets
    assert WEBHOOK_SECRET not in row.config and WEBHOOK_SECRET not in row.secret_names
    assert _box(platform).decrypt(row.id, row.secrets) == {"secret": WEBHOOK_SECRET}
    sftp_row = await _stored(platform, sftp["id"])
    assert sftp_row.secrets and SFTP_PASSWORD not in sftp_row.secrets
    assert _box(platform).decrypt(sftp_row.id, sftp_row.secrets) == {"password": SFTP_PASSWORD}
    key_file = platform.settings.delivery_secrets_key_path
    assert key_file.stat().st_mode & 0o777 == 0o600


async def test_secrets_decrypt_with_the_old_key_after_rotation(
    gql: GraphQLClient, platform: RunningPlatform, tmp_path: Path
) -> None:
    _, _, _, [hook] = await _report_with(gql, [_webhook()])
    row = await _stored(platform, hook["id"])
    assert row.secrets is not None
    old_key = platform.settings.delivery_secrets_key_path.read_text().strip()

    rotated = Settings(
        data_dir=tmp_path,
        delivery_secrets_key=generate_key(),  # type: ignore[arg-type]
        delivery_secrets_previous_keys=f"{generate_key()},{old_key}",  # type: ignore[arg-type]
    )
    assert SecretBox.from_settings(rotated).decrypt(row.id, row.secrets) == {
        "secret": WEBHOOK_SECRET
    }
    without_old = Settings(data_dir=tmp_path, delivery_secrets_key=generate_key())  # type: ignore[arg-type]
    with pytest.raises(SecretsError, match="cannot be decrypted"):
        SecretBox.from_settings(without_old).decrypt(row.id, row.secrets)


async def test_editing_without_resending_secrets_keeps_them(
    gql: GraphQLClient, platform: RunningPlatform
) -> None:
    owner, _, report_id, [_, sftp] = await _report_with(gql, [_webhook(), _sftp()])

    edited = await _set(
        gql,
        owner,
        report_id,
        [
            {"id": sftp["id"], "medium": "SFTP", "format": "PARQUET",
             "config": {"host": "sftp.example.com", "username": "bob"}},
        ],
    )  # fmt: skip

    assert edited["errors"] == []
    [kept] = edited["destinations"]
    assert kept["id"] == sftp["id"] and kept["format"] == "PARQUET"
    assert kept["config"] == {"host": "sftp.example.com", "username": "bob"}
    assert kept["secretsSet"] == ["password"]
    row = await _stored(platform, sftp["id"])
    assert row.secrets is not None
    assert _box(platform).decrypt(row.id, row.secrets) == {"password": SFTP_PASSWORD}
    # The webhook, left out of the list, is gone.
    read = await gql.execute(REPORT_DESTINATIONS, {"id": report_id}, token=owner.token)
    assert [d["id"] for d in read.data["report"]["destinations"]] == [sftp["id"]]
    # A null removes a secret; with nothing left, the SFTP destination lacks credentials.
    cleared = await _set(
        gql,
        owner,
        report_id,
        [{"id": sftp["id"], "medium": "SFTP", "format": "CSV",
          "config": {"host": "h", "username": "u"}, "secrets": {"password": None}}],
    )  # fmt: skip
    assert cleared["errors"][0]["field"] == ["input", "destinations", "0", "secrets", "password"]


VALIDATION_CASES = [
    (_sftp(config={"username": "a"}), ["config", "host"], "required"),
    (_sftp(port=70000), ["config", "port"], "65535"),
    (_sftp(config={"host": "h", "username": "u", "password": "x"}), ["config", "password"], "secret"),
    (_sftp(secrets={}), ["secrets", "password"], "privateKey"),
    (_sftp(secrets={"privateKey": "not a key"}), ["secrets", "privateKey"], "private key"),
    (_webhook(url="http://hooks.example.com/x"), ["config", "url"], "https"),
    (_webhook(secrets={}), ["secrets", "secret"], "required"),
    ({"medium": "S3", "format": "CSV", "config": {"bucket": "b-1", "accessKeyId": "AK"},
      "secrets": {"secretAccessKey": "s"}}, ["config", "region"], "required"),
    ({"medium": "FTP", "format": "CSV", "config": {"host": "h", "username": "u"}},
     ["secrets", "password"], "required"),
    ({"medium": "EMAIL", "format": "CSV",
      "config": {"host": "smtp.example.com", "from": "a@example.com", "to": ["ok@example.com", "nope"]}},
     ["config", "to", "1"], "nope"),
    (_webhook(fileNameTemplate="{report_name}-{date}.csv"), ["fileNameTemplate"], "{date}"),
    (_webhook(fileNameTemplate="../{run_id}.csv"), ["fileNameTemplate"], "/"),
]  # fmt: skip


@pytest.mark.parametrize(("destination", "field", "message"), VALIDATION_CASES)
async def test_invalid_destination_names_the_field(
    gql: GraphQLClient, destination: dict[str, Any], field: list[str], message: str
) -> None:
    owner, _, project = await new_owner_with_project(gql)
    report = await new_report(gql, owner, project)

    payload = await _set(gql, owner, report["id"], [_webhook(), destination])

    assert payload["destinations"] is None
    [error] = payload["errors"]
    assert error["code"] == "INVALID_INPUT"
    assert error["field"] == ["input", "destinations", "1", *field], error
    assert message in error["message"]


async def test_at_most_ten_destinations_and_only_the_reports_own_ids(gql: GraphQLClient) -> None:
    owner, _, report_id, _ = await _report_with(gql, [_webhook()])
    too_many = await _set(gql, owner, report_id, [_webhook()] * 11)
    assert too_many["errors"][0]["field"] == ["input", "destinations"]
    _, _, _, [other] = await _report_with(gql, [_webhook()])
    foreign = await _set(gql, owner, report_id, [_webhook(id=other["id"])])
    assert foreign["errors"][0]["field"] == ["input", "destinations", "0", "id"]


async def test_viewer_reads_destinations_but_cannot_write_or_test(gql: GraphQLClient) -> None:
    owner, org, project = await new_owner_with_project(gql)
    viewer = await new_person(gql, "viewer")
    await join_org(gql, owner, org, viewer, "MEMBER")
    await add_to_project(gql, owner, project, viewer, "VIEWER")
    report = await new_report(gql, owner, project)
    [hook] = (await _set(gql, owner, report["id"], [_webhook()]))["destinations"]

    read = await gql.execute(REPORT_DESTINATIONS, {"id": report["id"]}, token=viewer.token)
    assert read.data["report"]["destinations"] == [hook]
    write = await gql.execute(
        "mutation($input: SetReportDestinationsInput!) "
        "{ setReportDestinations(input: $input) { destinations { id } } }",
        {"input": {"reportId": report["id"], "destinations": []}},
        token=viewer.token,
    )
    assert write.error_codes == ["PERMISSION_DENIED"]
    test = await gql.execute(
        "mutation($input: TestDestinationInput!) { testDestination(input: $input) { ok } }",
        {"input": {"reportId": report["id"], "destinationId": hook["id"]}},
        token=viewer.token,
    )
    assert test.error_codes == ["PERMISSION_DENIED"]


async def test_editor_sets_destinations(gql: GraphQLClient) -> None:
    owner, org, project = await new_owner_with_project(gql)
    editor = await new_person(gql, "editor")
    await join_org(gql, owner, org, editor, "MEMBER")
    await add_to_project(gql, owner, project, editor, "EDITOR")
    report = await new_report(gql, owner, project)
    payload = await _set(gql, editor, report["id"], [_webhook()])
    assert payload["errors"] == []


async def test_another_organization_sees_not_found(gql: GraphQLClient) -> None:
    _, _, report_id, [hook] = await _report_with(gql, [_webhook()])
    stranger, _, _ = await new_owner_with_project(gql)

    write = await _set(gql, stranger, report_id, [_webhook()])
    assert [e["code"] for e in write["errors"]] == ["NOT_FOUND"]
    test = await gql.mutate(
        "testDestination",
        {"reportId": report_id, "destinationId": hook["id"]},
        "ok error",
        token=stranger.token,
    )
    assert [e["code"] for e in test["errors"]] == ["NOT_FOUND"] and test["ok"] is False
    read = await gql.execute(REPORT_DESTINATIONS, {"id": report_id}, token=stranger.token)
    assert read.data["report"] is None


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    running = WebhookReceiver(WEBHOOK_SECRET)
    running.start()
    yield running
    running.stop()


@pytest.fixture
async def sftp_server(tmp_path: Path) -> AsyncIterator[SftpServer]:
    server = SftpServer(root=tmp_path, users={"alice": SFTP_PASSWORD})
    await server.start()
    yield server
    await server.stop()


async def _test(gql: GraphQLClient, person: Person, report_id: str, dest: str) -> dict[str, Any]:
    return await gql.mutate(
        "testDestination",
        {"reportId": report_id, "destinationId": dest},
        "ok error retryable",
        token=person.token,
    )


async def test_test_destination_posts_a_signed_webhook_with_the_stored_secret(
    gql: GraphQLClient, receiver: WebhookReceiver
) -> None:
    owner, _, report_id, [hook] = await _report_with(gql, [_webhook(url=receiver.url)])

    outcome = await _test(gql, owner, report_id, hook["id"])

    assert outcome == {"ok": True, "error": None, "retryable": None, "errors": []}
    [request] = receiver.received
    assert request.signature_error is None
    assert json.loads(request.body)["type"] == "test"


async def test_test_destination_reports_what_failed(
    gql: GraphQLClient, sftp_server: SftpServer, receiver: WebhookReceiver
) -> None:
    wrong = _sftp(port=sftp_server.port, secrets={"password": "wrong-password"})
    signed_wrong = _webhook(url=receiver.url, secrets={"secret": "not-the-receivers"})
    owner, _, report_id, [sftp, hook] = await _report_with(gql, [wrong, signed_wrong])

    refused = await _test(gql, owner, report_id, sftp["id"])
    assert refused["ok"] is False and refused["retryable"] is False
    assert "SFTP login refused for user 'alice'" in refused["error"]
    assert "wrong-password" not in json.dumps(refused)
    unsigned = await _test(gql, owner, report_id, hook["id"])
    assert unsigned["ok"] is False and "answered 401" in unsigned["error"]
    # The right password, sent once, is then used by the check.
    fixed = await _set(gql, owner, report_id, [_sftp(port=sftp_server.port, id=sftp["id"])])
    assert fixed["errors"] == []
    ok = await _test(gql, owner, report_id, sftp["id"])
    assert ok["ok"] is True, ok


async def test_delivery_plan_is_for_the_system_only_and_carries_the_secrets(
    gql: GraphQLClient, platform: RunningPlatform
) -> None:
    owner, _, report_id, [hook, _] = await _report_with(gql, [_webhook(), _sftp()])
    run_id = _raw(await trigger_run(gql, owner, report_id))

    async with system_caller(platform) as system:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await system.delivery_plan(run_id, token=owner.token)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        plan = await system.delivery_plan(run_id)

    assert plan.run.id == run_id and plan.report_name == "Daily Prices (EU)"
    planned_hook, planned_sftp = plan.destinations
    assert planned_hook.destination.id == _raw(hook["id"])
    assert dict(planned_hook.secrets) == {"secret": WEBHOOK_SECRET}
    assert dict(planned_sftp.secrets) == {"password": SFTP_PASSWORD}
    assert planned_hook.file_name.startswith("daily-prices-eu-20")
    assert planned_hook.file_name.endswith(".jsonl.gz")
    assert planned_sftp.file_name.endswith(f"-{run_id}.csv")


async def test_changes_are_events_without_secrets(
    gql: GraphQLClient, platform: RunningPlatform
) -> None:
    _, _, report_id, [hook] = await _report_with(gql, [_webhook()])
    db = platform.platform.db
    assert db is not None
    async with db.transaction() as session:
        rows = await session.scalars(
            select(OutboxEvent).where(OutboxEvent.event_type == "ReportDestinationsChanged")
        )
        found = [json.loads(r.data) for r in rows if _raw(report_id) in r.data]
    [event] = found
    assert WEBHOOK_SECRET not in json.dumps(event)
    assert event["destinations"][0]["id"] == _raw(hook["id"])
    assert event["destinations"][0]["secretsSet"] == ["secret"]
