"""File-name templates of delivered files: checked when saved, rendered per run.

    "{report_name}-{run_date}.{format_ext}"  →  "daily-prices-2030-01-01.csv.gz"

Placeholders: {report_name} (slugified), {run_id}, {run_date} (YYYY-MM-DD, UTC), {run_time}
(HHMMSS, UTC), {format_ext} (the extension without its dot: csv, csv.gz, json.zip). The result
is one file name: no path separators, no `..`, no control characters."""

from __future__ import annotations

import re
import string
import unicodedata
from datetime import UTC, datetime

from trawl.domain.errors import InvalidInput
from trawl.exports import file_extension

PLACEHOLDERS = ("report_name", "run_id", "run_date", "run_time", "format_ext")
DEFAULT_TEMPLATE = "{report_name}-{run_date}-{run_id}.{format_ext}"
MAX_TEMPLATE_CHARS = 200
MAX_NAME_CHARS = 255
# The longest each placeholder renders (a slug is cut at 100 characters, `parquet.zip` is the
# longest extension), so a template accepted here never renders too long a name later.
_SAMPLE = {
    "report_name": "r" * 100,
    "run_id": "01JAAAAAAAAAAAAAAAAAAAAAAA",
    "run_date": "2030-01-01",
    "run_time": "000000",
    "format_ext": "parquet.zip",
}
_FORBIDDEN = set('/\\:*?"<>|')


def check_template(field: str, template: str) -> str:
    """The template, or InvalidInput naming the field (and an unknown placeholder)."""
    cleaned = template.strip()
    if not cleaned:
        raise InvalidInput(field, "must not be empty")
    if len(cleaned) > MAX_TEMPLATE_CHARS:
        raise InvalidInput(field, f"must be at most {MAX_TEMPLATE_CHARS} characters")
    try:
        parsed = list(string.Formatter().parse(cleaned))
    except ValueError as exc:
        raise InvalidInput(
            field, f"is not a valid template: {exc} (write a literal brace as {{{{ or }}}})"
        ) from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS:
            known = ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)
            raise InvalidInput(field, f"unknown placeholder {{{name}}} (known: {known})")
        if spec or conversion:
            raise InvalidInput(field, f"placeholder {{{name}}} takes no format or conversion")
    _check_name(field, cleaned.format(**_SAMPLE))
    return cleaned


def render_file_name(
    template: str, report_name: str, run_id: str, finished_at: datetime, extension: str
) -> str:
    """The file name of one run's delivery. `extension` as `.csv.gz` or `csv.gz`."""
    moment = finished_at.astimezone(UTC)
    name = template.format(
        report_name=slugify(report_name),
        run_id=run_id,
        run_date=moment.strftime("%Y-%m-%d"),
        run_time=moment.strftime("%H%M%S"),
        format_ext=extension.lstrip("."),
    )
    return _check_name("fileNameTemplate", name)


def slugify(name: str) -> str:
    """Lowercase ASCII letters, digits and '-': "Daily Prices (EU)" → "daily-prices-eu"."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:100].strip("-")
    return slug or "report"


def extension_of(export_format: str, compression: str) -> str:
    """`.csv`, `.csv.gz`, `.csv.zip` (as the exporter names its files)."""
    return file_extension(export_format, compression)


def _check_name(field: str, name: str) -> str:
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InvalidInput(field, "the file name must not contain control characters")
    if _FORBIDDEN & set(name):
        bad = "".join(sorted(_FORBIDDEN & set(name)))
        raise InvalidInput(field, f"the file name must not contain {bad!r}")
    if ".." in name or name.startswith((".", " ")) or name.endswith((" ", ".")):
        raise InvalidInput(
            field, "the file name must not contain '..' nor start with '.' or end with '.'"
        )
    if len(name) > MAX_NAME_CHARS:
        raise InvalidInput(field, f"the file name must be at most {MAX_NAME_CHARS} characters")
    return name
