"""The one CSV writer of downloads (access log, annual report): every cell that a spreadsheet would
read as a formula (starting with = + - @, a tab or a carriage return) is written as text with a
leading apostrophe, so a name like "=HYPERLINK(…)" never runs in the office's spreadsheet."""

import csv
import io
from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def csv_text(header: Iterable[object], rows: Iterable[Iterable[object]], *, delimiter: str = ",") -> str:
    """``header`` and ``rows`` as CSV text (lines end in CRLF), every cell through ``safe_cell``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow([safe_cell(cell) for cell in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return buffer.getvalue()
