"""Registers the built-in service codes in the database (idempotent, safe to race)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from trawl.crawlers.builtin.registry import BUILTIN_CODES, BuiltinCode
from trawl.domain.db import Database, utcnow
from trawl.domain.reports.models import ServiceCode, dump_json, dump_schema_json


def _fill(row: ServiceCode, code: BuiltinCode) -> None:
    row.title = code.title
    row.description = code.description
    row.image = code.image
    row.version = code.version
    row.entry_point = code.entry_point
    row.parameters_schema = dump_json(code.parameters_schema)
    row.record_schema = dump_schema_json(code.record_schema)
    row.default_timeout_seconds = code.default_timeout_seconds
    row.cpu = code.cpu
    row.memory = code.memory


async def ensure_builtin_service_codes(db: Database) -> None:
    for code in BUILTIN_CODES:
        try:
            async with db.transaction() as session:
                row = await session.scalar(select(ServiceCode).where(ServiceCode.code == code.code))
                if row is None:
                    row = ServiceCode(code=code.code, active=True)
                    _fill(row, code)
                    session.add(row)
                elif row.version != code.version:
                    _fill(row, code)
                    row.updated_at = utcnow()
        except IntegrityError:
            continue  # another process registered it first
