"""Markdown tables for terminal summaries and docs/RESULTS.md."""

from __future__ import annotations


def markdown_table(header: list[str], rows: list[list]) -> str:
    """A GitHub-flavoured markdown table with columns padded to line up in a terminal."""
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)
