"""The crawler registry: platform staff register, change and retire service codes; every
caller lists the active ones. Never commits."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from trawl.domain import events, validation
from trawl.domain.access import Actor
from trawl.domain.db import utcnow
from trawl.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from trawl.domain.reports.documents import check_schema, parse_object
from trawl.domain.reports.models import ServiceCode, dump_schema_json
from trawl.domain.reports.repository import ReportsRepository

_CODE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_CPU = re.compile(r"^([0-9]+m|[0-9]+(\.[0-9]+)?)$")
_MEMORY = re.compile(r"^[0-9]+(Ki|Mi|Gi|K|M|G)?$")
MAX_TIMEOUT_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True, slots=True)
class ServiceCodeFields:
    """Create: every field given. Update: None leaves a field as it is."""

    title: str | None = None
    description: str | None = None
    image: str | None = None
    version: str | None = None
    entry_point: str | None = None
    parameters_schema: str | None = None
    record_schema: str | None = None
    default_timeout_seconds: int | None = None
    cpu: str | None = None
    memory: str | None = None
    active: bool | None = None


def _matching(field: str, value: str, pattern: re.Pattern[str], what: str) -> str:
    cleaned = value.strip()
    if not pattern.match(cleaned):
        raise InvalidInput(field, f"'{value}' is not {what}")
    return cleaned


def timeout_seconds(field: str, value: int) -> int:
    if not 1 <= value <= MAX_TIMEOUT_SECONDS:
        raise InvalidInput(field, f"must be between 1 and {MAX_TIMEOUT_SECONDS} seconds")
    return value


def _schema(field: str, text: str) -> str:
    return dump_schema_json(check_schema(field, parse_object(field, text)))


class ServiceCodesService:
    def __init__(self, session: AsyncSession) -> None:
        self.repo = ReportsRepository(session)

    async def list_codes(self, actor: Actor, *, include_retired: bool) -> list[ServiceCode]:
        return await self.repo.service_codes(
            include_retired=include_retired and actor.principal.is_staff
        )

    async def get(self, actor: Actor, code: str) -> ServiceCode:
        found = await self.repo.service_code(code.strip())
        if found is None or (not found.active and not actor.principal.is_staff):
            raise NotFound(f"service code '{code}' not found")
        return found

    async def create(self, actor: Actor, code: str, fields: ServiceCodeFields) -> ServiceCode:
        _require_staff(actor)
        clean = _matching(
            "code", code, _CODE, "a service code like 'generic.html' (dotted a-z0-9_)"
        )
        if await self.repo.service_code(clean) is not None:
            raise Conflict(f"service code '{clean}' already exists", field="code")
        row = ServiceCode(code=clean, active=True, description="")
        _apply(row, fields, creating=True)
        self.repo.session.add(row)
        await self.repo.session.flush()
        events.emit(self.repo.session, actor, events.SERVICE_CODE_CREATED, None, {"code": clean})
        return row

    async def update(self, actor: Actor, code: str, fields: ServiceCodeFields) -> ServiceCode:
        _require_staff(actor)
        row = await self.get(actor, code)
        _apply(row, fields, creating=False)
        row.updated_at = utcnow()
        await self.repo.session.flush()
        events.emit(self.repo.session, actor, events.SERVICE_CODE_UPDATED, None, {"code": row.code})
        return row

    async def retire(self, actor: Actor, code: str) -> ServiceCode:
        """Retired codes stay for the history of their runs; new runs of them are refused."""
        _require_staff(actor)
        row = await self.get(actor, code)
        row.active = False
        row.updated_at = utcnow()
        await self.repo.session.flush()
        events.emit(self.repo.session, actor, events.SERVICE_CODE_RETIRED, None, {"code": row.code})
        return row


def _require_staff(actor: Actor) -> None:
    if not actor.principal.is_staff:
        raise PermissionDenied("only platform staff can change service codes")


def _apply(row: ServiceCode, f: ServiceCodeFields, *, creating: bool) -> None:
    def given(name: str, value: Any) -> bool:
        if value is None and creating:
            raise InvalidInput(name, "is required")
        return value is not None

    if given("title", f.title):
        row.title = validation.text("title", f.title or "", max_len=200)
    if f.description is not None:
        row.description = validation.text("description", f.description, max_len=5000, min_len=0)
    if given("image", f.image):
        row.image = validation.text("image", f.image or "", max_len=300)
    if given("version", f.version):
        row.version = validation.text("version", f.version or "", max_len=100)
    if given("entryPoint", f.entry_point):
        row.entry_point = _matching(
            "entryPoint", f.entry_point or "", _MODULE, "a Python module path"
        )
    if given("parametersSchema", f.parameters_schema):
        row.parameters_schema = _schema("parametersSchema", f.parameters_schema or "")
    if given("recordSchema", f.record_schema):
        row.record_schema = _schema("recordSchema", f.record_schema or "")
    if given("defaultTimeoutSeconds", f.default_timeout_seconds):
        row.default_timeout_seconds = timeout_seconds(
            "defaultTimeoutSeconds", f.default_timeout_seconds or 0
        )
    if given("cpu", f.cpu):
        row.cpu = _matching("cpu", f.cpu or "", _CPU, "a CPU quantity like '500m' or '1'")
    if given("memory", f.memory):
        row.memory = _matching("memory", f.memory or "", _MEMORY, "a memory quantity like '512Mi'")
    if f.active is not None and not creating:
        row.active = f.active
