"""The one Markdown table renderer of rnnspec: reports, comparison pages and the fact index."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def cell(value: object, limit: int | None = None) -> str:
    """A value as one table cell: `|` escaped, newlines folded, cut to `limit` characters."""
    text = "" if value is None else str(value)
    text = " ".join(text.split()).replace("|", "\\|")
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def table(
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    align: str | None = None,
    limit: int | None = None,
) -> list[str]:
    """The lines of a Markdown table. `align` has one letter per column: l, r or c."""
    marks = {"l": "---", "r": "---:", "c": ":---:"}
    rule = [marks[a] for a in (align or "l" * len(header))]
    lines = [
        "| " + " | ".join(cell(h) for h in header) + " |",
        "|" + "|".join(rule) + "|",
    ]
    lines += ["| " + " | ".join(cell(v, limit) for v in row) + " |" for row in rows]
    return lines
