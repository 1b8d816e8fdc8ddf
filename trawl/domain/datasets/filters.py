"""The dataset filter language, checked against the declared record fields and translated
into a MongoDB query on the stored payload. Operands are JSON literals: every clause is
built here with an explicit operator (`$eq`, `$in`, ...) around the value, so a value such
as {"$gt": 1} is refused (objects are never operands) and could only ever be compared as a
literal. Errors name the offending field."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from trawl.domain.datasets.fields import DeclaredField
from trawl.domain.errors import InvalidInput
from trawl.stream.sinks.mongo import escape_key

MAX_CONDITIONS = 20
MAX_IN_VALUES = 100
MAX_CONTAINS_LENGTH = 256
MAX_VALUE_JSON = 64 * 1024
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# Regex metacharacters (PCRE and Go RE2); everything else in a CONTAINS operand is literal.
_REGEX_SPECIAL = re.compile(r"([\\.^$|?*+()\[\]{}/-])")

Mongo = dict[str, Any]


class Op(StrEnum):
    EQ = "EQ"
    IN = "IN"
    GT = "GT"
    GTE = "GTE"
    LT = "LT"
    LTE = "LTE"
    EXISTS = "EXISTS"
    CONTAINS = "CONTAINS"


RANGE_OPERATORS = {Op.GT: "$gt", Op.GTE: "$gte", Op.LT: "$lt", Op.LTE: "$lte"}


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    op: Op
    value_json: str  # "" for no value (EXISTS defaults to true)


def payload_path(field: DeclaredField) -> str:
    """The stored location of a payload field: keys escaped as the sink stores them."""
    return ".".join(["payload", *(escape_key(s) for s in field.segments)])


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _int64(text: str) -> int:
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError("integer outside 64 bits")
    return value


def parse_operand(path: str, text: str) -> Any:
    if not text:
        return None
    if len(text) > MAX_VALUE_JSON:
        raise InvalidInput("filter", f"the value for '{path}' is too large")
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_int=_int64)
    except ValueError as error:
        raise InvalidInput("filter", f"the value for '{path}' is not usable: {error}") from None


def declared(fields: Mapping[str, DeclaredField], path: str, input_name: str) -> DeclaredField:
    found = fields.get(path)
    if found is None:
        known = ", ".join(sorted(fields)) or "none"
        raise InvalidInput(
            input_name,
            f"'{path}' is not a declared field of this report's records (declared: {known})",
        )
    return found


def _matches(types: frozenset[str], value: Any) -> bool:
    """Whether a scalar fits declared types (open types accept any scalar)."""
    kind = json_type(value)
    if not types:
        return True
    if kind in types:
        return True
    if kind == "integer" and "number" in types:
        return True
    return kind == "number" and "integer" in types and float(value).is_integer()


def _describe(types: frozenset[str]) -> str:
    return " or ".join(sorted(types - {"null"})) or "a value"


def _scalar(field: DeclaredField, value: Any, op: Op) -> Any:
    kind = json_type(value)
    if kind in ("array", "object", "null"):
        raise InvalidInput(
            "filter", f"{op} on '{field.path}' takes a string, number or boolean, not {kind}"
        )
    if field.types and not field.scalar_types:
        raise InvalidInput(
            "filter", f"'{field.path}' is {_describe(field.types)}: use CONTAINS or EXISTS"
        )
    if not _matches(field.scalar_types, value):
        raise InvalidInput(
            "filter", f"'{field.path}' holds {_describe(field.types)} values; {value!r} is a {kind}"
        )
    return value


def _in(field: DeclaredField, value: Any) -> Mongo:
    if not isinstance(value, list) or not value:
        raise InvalidInput("filter", f"IN on '{field.path}' takes a non-empty list of values")
    if len(value) > MAX_IN_VALUES:
        raise InvalidInput("filter", f"IN on '{field.path}' takes at most {MAX_IN_VALUES} values")
    return {"$in": [_scalar(field, v, Op.IN) for v in value]}


def _range(field: DeclaredField, op: Op, value: Any) -> Mongo:
    kind = json_type(value)
    if kind not in ("integer", "number", "string"):
        raise InvalidInput("filter", f"{op} on '{field.path}' takes a number or a string")
    orderable = field.scalar_types - {"boolean"}
    if "integer" in orderable:
        orderable |= {"number"}  # `stock > 2.5` is a fair question about an integer
    if field.types and not orderable:
        raise InvalidInput(
            "filter", f"{op} does not apply to '{field.path}' ({_describe(field.types)})"
        )
    if not _matches(orderable, value):
        raise InvalidInput(
            "filter", f"'{field.path}' holds {_describe(field.types)} values; {value!r} is a {kind}"
        )
    return {RANGE_OPERATORS[op]: value}


def _exists(field: DeclaredField, value: Any) -> Mongo:
    if value is None:
        return {"$exists": True}
    if not isinstance(value, bool):
        raise InvalidInput("filter", f"EXISTS on '{field.path}' takes true or false")
    return {"$exists": value}


def escape_regex(text: str) -> str:
    return _REGEX_SPECIAL.sub(r"\\\1", text)


def _contains(field: DeclaredField, value: Any) -> Mongo:
    if isinstance(value, str) and field.allows("string"):
        if not value or len(value) > MAX_CONTAINS_LENGTH:
            raise InvalidInput(
                "filter",
                f"CONTAINS on '{field.path}' takes 1 to {MAX_CONTAINS_LENGTH} characters",
            )
        return {"$regex": escape_regex(value), "$options": "i"}
    if "array" in field.types:
        element = DeclaredField(field.path, field.segments, field.item_types)
        return {"$elemMatch": {"$eq": _scalar(element, value, Op.CONTAINS)}}
    raise InvalidInput(
        "filter",
        f"CONTAINS on '{field.path}' needs a string field and a string, or an array field "
        "and an element",
    )


def clause(field: DeclaredField, op: Op, value: Any) -> Mongo:
    """One condition as a MongoDB clause on the stored payload."""
    if op is Op.EQ:
        test: Mongo = {"$eq": _scalar(field, value, op)}
    elif op is Op.IN:
        test = _in(field, value)
    elif op in RANGE_OPERATORS:
        test = _range(field, op, value)
    elif op is Op.EXISTS:
        test = _exists(field, value)
    else:
        test = _contains(field, value)
    return {payload_path(field): test}


def compile_filter(
    conditions: Sequence[Condition], fields: Mapping[str, DeclaredField]
) -> list[Mongo]:
    """The clauses every record must match (AND), in the order given."""
    if len(conditions) > MAX_CONDITIONS:
        raise InvalidInput("filter", f"at most {MAX_CONDITIONS} conditions")
    clauses = []
    for condition in conditions:
        field = declared(fields, condition.field, "filter")
        clauses.append(clause(field, condition.op, parse_operand(field.path, condition.value_json)))
    return clauses
