"""A list of sections as report.md and as a self-contained report.html (figures inlined, own script only)."""

from __future__ import annotations

import base64
import hashlib
import html
import os
import re
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd

from embedlab.studies.report.browser import BROWSER_SCRIPT
from embedlab.studies.report.figures import caption_for


@dataclass
class Section:
    title: str
    text: str = ""
    tables: list[pd.DataFrame] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)
    html: str = ""  # an interactive part, in report.html only


MARKDOWN_COLUMNS = 10  # GitHub renders wider tables, but they no longer fit a page


def split_columns(table: pd.DataFrame, limit: int = MARKDOWN_COLUMNS) -> list[pd.DataFrame]:
    """A wide table as several of at most `limit` columns, each repeating the leading label columns."""
    if len(table.columns) <= limit:
        return [table]
    keys: list[str] = []
    for column in table.columns:
        values = table[column].astype(str)
        if len(keys) < limit // 2 and not pd.to_numeric(values.replace("", np.nan), errors="coerce").notna().any():
            keys.append(column)
        else:
            break
    rest = [c for c in table.columns if c not in keys]
    width = max(1, limit - len(keys))
    return [table[keys + rest[i : i + width]] for i in range(0, len(rest), width)]


def markdown_page(parts: list[Section], out_dir: Path) -> str:
    lines = []
    for i, part in enumerate(parts):
        lines.append(f"{'#' if i == 0 else '##'} {part.title}\n")
        if part.text:
            lines.append(part.text + "\n")
        for table in part.tables:
            lines.extend(chunk.to_markdown(index=False, disable_numparse=True) + "\n" for chunk in split_columns(table))
        for figure in part.figures:
            lines.append(f"![{figure.stem}]({os.path.relpath(figure, out_dir)})\n")
            lines.append(f"*{caption_for(Path(figure))}*\n")
    return "\n".join(lines)


SORT_SCRIPT = (files(__package__) / "sort.js").read_text(encoding="utf-8")  # a package file, tested in Chromium


def _inline(text: str) -> str:
    """Markdown's **bold** and `code` as HTML, everything else escaped."""
    out = html.escape(text)
    out = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", out)


def content_policy(script: str) -> str:
    """The page runs its own script and nothing else: no inline event handler, no other script, no network."""
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    return (
        f"default-src 'none'; script-src 'sha256-{digest}'; style-src 'unsafe-inline'; img-src data:; "
        "base-uri 'none'; form-action 'none'"
    )


def html_page(parts: list[Section]) -> str:
    body = [f"<h1>{html.escape(parts[0].title)}</h1>"]
    anchors = [f"s{i}" for i in range(len(parts))]
    body.append(
        "<nav><strong>Contents</strong><ol>"
        + "".join(
            f'<li><a href="#{a}">{html.escape(p.title)}</a></li>' for a, p in zip(anchors[1:], parts[1:], strict=True)
        )
        + "</ol></nav>"
    )
    for i, part in enumerate(parts):
        if i:
            body.append(f'<h2 id="{anchors[i]}">{html.escape(part.title)}</h2>')
        if part.text:
            if part.text.startswith("- "):
                items = [line[2:] if line.startswith("- ") else line for line in part.text.splitlines()]
                body.append("<ul>" + "".join(f"<li>{_inline(t)}</li>" for t in items) + "</ul>")
            else:
                body.extend(f"<p>{_inline(block)}</p>" for block in part.text.split("\n\n"))
        for table in part.tables:
            body.append('<div class="scroll">' + table.to_html(index=False, border=0, classes="table") + "</div>")
        if part.html:
            body.append(part.html)
        for figure in part.figures:
            data = base64.b64encode(Path(figure).read_bytes()).decode()
            caption = html.escape(caption_for(Path(figure)))
            body.append(
                f'<figure><img alt="{html.escape(figure.stem)}" src="data:image/png;base64,{data}">'
                f"<figcaption>{caption}</figcaption></figure>"
            )
    style = (
        "*{box-sizing:border-box}body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;"
        "line-height:1.45}.scroll{overflow-x:auto;max-width:100%}"
        "table{border-collapse:collapse;font-size:13px;margin:1em 0}td,th{padding:3px 8px;border-bottom:1px solid #ddd}"
        "th{background:#f4f4f4;position:sticky;top:0}img{max-width:100%;height:auto}nav{background:#fafafa;"
        "padding:.5em 1em;border:1px solid #eee}code{background:#f4f4f4;padding:0 3px}"
        "figure{margin:1em 0}figcaption{color:#555;font-size:13px;max-width:900px}"
    )
    title = html.escape(parts[0].title)
    script = SORT_SCRIPT + BROWSER_SCRIPT
    head = f"<meta charset='utf-8'><meta http-equiv='Content-Security-Policy' content=\"{content_policy(script)}\">"
    head += f"<meta name='viewport' content='width=device-width'><title>{title}</title><style>{style}</style>"
    scripts = f"<script>{script}</script>"
    return f"<!doctype html><html><head>{head}</head><body>{''.join(body)}{scripts}</body></html>\n"
