"""The byte sinks an export writes through: a counter in front of the caller's stream, and
the optional gzip or zip layer on top of it.

Every export writes to `CountingSink`, which counts the bytes and says it cannot seek or
read, whatever the stream behind it can. That matters for byte-for-byte equality between
an export to a local file and the same export piped to a delivery medium: zipfile rewrites
an entry's local header when it can seek and writes a data descriptor when it cannot, and
fastavro appends to (and re-reads) a readable, seekable file; hiding those abilities makes
both take the same path for every destination.

The compression layers are deterministic: gzip with mtime 0 and the entry name in its
header, zip with one entry dated 1980-01-01 (the earliest DOS date), fixed attributes and
ZIP64 forced, since the entry's size is unknown when its header is written."""

from __future__ import annotations

import contextlib
import gzip
import io
import zipfile
from collections.abc import Iterator
from enum import StrEnum
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

GZIP_LEVEL = 6  # zlib's default: level 9 costs twice the time for ~1% smaller output
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
ZIP_FILE_MODE = 0o100644  # a regular file, rw-r--r--


class Compression(StrEnum):
    NONE = "none"
    GZIP = "gzip"
    ZIP = "zip"


class CountingSink(io.RawIOBase):
    """Passes bytes to `target` and counts them; neither seekable nor readable (see above)."""

    def __init__(self, target: BinaryIO) -> None:
        self._target = target
        self.written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: ReadableBuffer) -> int:
        view = memoryview(data)
        self._target.write(view)
        self.written += view.nbytes
        return view.nbytes

    def tell(self) -> int:
        # pyarrow and zipfile ask for the position; it is the count of bytes written.
        return self.written

    def flush(self) -> None:
        # The caller may have closed its stream by the time this sink is collected.
        if not getattr(self._target, "closed", False):
            self._target.flush()

    def close(self) -> None:
        # The caller's stream stays open: it belongs to the caller.
        if not self.closed:
            self.flush()
        super().close()


@contextlib.contextmanager
def compressed(sink: CountingSink, compression: Compression, entry_name: str) -> Iterator[BinaryIO]:
    """The stream a format writes into: `sink` itself, or a gzip or zip layer on it that is
    finished (trailer, central directory) when the block exits without an error."""
    if compression is Compression.NONE:
        yield sink  # type: ignore[misc]  # a RawIOBase is a binary stream
        return
    if compression is Compression.GZIP:
        with gzip.GzipFile(
            filename=entry_name, mode="wb", fileobj=sink, compresslevel=GZIP_LEVEL, mtime=0
        ) as layer:
            yield layer  # type: ignore[misc]  # GzipFile is a binary stream
        return
    with (
        zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open(zip_entry(entry_name), mode="w", force_zip64=True) as entry,
    ):
        yield entry  # type: ignore[misc]  # the entry writer is a binary stream


def zip_entry(name: str) -> zipfile.ZipInfo:
    """A zip entry whose header holds nothing that changes between runs."""
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = ZIP_FILE_MODE << 16
    info.create_system = 3  # Unix, whatever the host, so the attributes read the same
    return info
