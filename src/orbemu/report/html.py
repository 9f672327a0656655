"""Self-contained HTML pages for reports: one file, inline CSS, figures embedded as base64 PNG.

A page works offline and when mailed or archived alone: no external CSS, JavaScript, fonts or
images. Every text given is escaped; table cells may carry the exact number they show
(``data-value``), so tools and tests can read the figures back without parsing formatted text::

    page = HtmlPage("Remote-site connectivity")
    page.heading("Summary")
    page.table(["flow", "p50 (ms)"], [["a → b", Cell(48.6213, "48.6")]])
    page.figure(Path("out/rtt.png"), "RTT over time")
    page.write(Path("out/report.html"))
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Cell", "HtmlPage", "fmt"]

_CSS = """
body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:2em auto;
max-width:1100px;padding:0 1em;color:#1d2733;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;margin-top:1.8em;
border-bottom:1px solid #d5dbe3;padding-bottom:.2em}h3{font-size:1.05em;margin-top:1.3em}
table{border-collapse:collapse;margin:.6em 0 1em;font-size:.88em}
th,td{border:1px solid #d5dbe3;padding:.25em .55em;text-align:left;vertical-align:top}
th{background:#f0f3f7}caption{text-align:left;font-weight:600;padding:.2em 0}
td:first-child{white-space:nowrap}td.num{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #e3e7ed}
figcaption{font-size:.85em;color:#4a5868}.note{color:#4a5868;font-size:.9em}
dl.kv{display:grid;grid-template-columns:max-content auto;gap:.15em 1em;font-size:.92em}
dl.kv dt{font-weight:600}dl.kv dd{margin:0}.warn{color:#a33}
code{background:#f0f3f7;padding:0 .2em;border-radius:3px}
"""


def fmt(value: Any, spec: str = ".1f", empty: str = "—") -> str:
    """A number formatted with ``spec``; ``empty`` for None, NaN and ±inf."""
    if value is None:
        return empty
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(x):
        return empty
    return format(round(x), spec) if spec.endswith("d") else format(x, spec)


@dataclass(frozen=True)
class Cell:
    """A table cell: ``text`` shown, ``value`` (the exact number) kept in ``data-value``;
    numbers are right-aligned."""

    value: Any
    text: str | None = None
    spec: str = ".1f"

    def render(self) -> str:
        shown = self.text if self.text is not None else fmt(self.value, self.spec)
        try:
            number = float(self.value)
            data = repr(number) if math.isfinite(number) else ""
        except (TypeError, ValueError):
            data = str(self.value)
        return f'<td class="num" data-value="{html.escape(data)}">{html.escape(shown)}</td>'


class HtmlPage:
    """Build a page piece by piece, then :meth:`write` it."""

    def __init__(self, title: str, subtitle: str | None = None) -> None:
        self.title = title
        self._parts: list[str] = [f"<h1>{html.escape(title)}</h1>"]
        if subtitle:
            self._parts.append(f'<p class="note">{html.escape(subtitle)}</p>')
        self.images: list[str] = []

    def heading(self, text: str, level: int = 2, anchor: str | None = None) -> None:
        ident = f' id="{html.escape(anchor)}"' if anchor else ""
        self._parts.append(f"<h{level}{ident}>{html.escape(text)}</h{level}>")

    def paragraph(self, text: str, *, css: str | None = None) -> None:
        cls = f' class="{css}"' if css else ""
        self._parts.append(f"<p{cls}>{html.escape(text)}</p>")

    def note(self, text: str) -> None:
        self.paragraph(text, css="note")

    def bullets(self, items: Iterable[str]) -> None:
        lis = "".join(f"<li>{html.escape(t)}</li>" for t in items)
        self._parts.append(f"<ul>{lis}</ul>")

    def key_values(self, pairs: Iterable[tuple[str, str]]) -> None:
        body = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in pairs)
        self._parts.append(f'<dl class="kv">{body}</dl>')

    def table(self, columns: Sequence[str], rows: Iterable[Sequence[Any]], *,
              caption: str | None = None, table_id: str | None = None) -> None:
        """A table; a cell is a :class:`Cell` (a number) or anything shown as text."""
        head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
        body = []
        for row in rows:
            cells = []
            for v in row:
                if isinstance(v, Cell):
                    cells.append(v.render())
                else:
                    cells.append(f"<td>{html.escape(str(v))}</td>")
            body.append(f"<tr>{''.join(cells)}</tr>")
        ident = f' id="{html.escape(table_id)}"' if table_id else ""
        cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
        self._parts.append(f"<table{ident}>{cap}<thead><tr>{head}</tr></thead><tbody>"
                           f"{''.join(body)}</tbody></table>")

    def figure(self, png: Path, caption: str, *, embed: bool = True) -> None:
        """A PNG: embedded as base64 (default: the page stands alone), or linked by its name
        (it must then sit beside the page). Either way the file name is in the page."""
        name = png.name
        self.images.append(name)
        if embed:
            data = base64.b64encode(png.read_bytes()).decode("ascii")
            src = f"data:image/png;base64,{data}"
        else:
            src = html.escape(name)
        self._parts.append(
            f'<figure><img src="{src}" alt="{html.escape(caption)}" '
            f'data-file="{html.escape(name)}"><figcaption>{html.escape(caption)} '
            f'(<code>{html.escape(name)}</code>)</figcaption></figure>')

    def raw(self, markup: str) -> None:
        """Markup built by the caller (already escaped)."""
        self._parts.append(markup)

    def render(self) -> str:
        made = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        from orbemu import __version__

        return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                f"<title>{html.escape(self.title)}</title><style>{_CSS}</style></head><body>"
                + "\n".join(self._parts)
                + f'<hr><p class="note">Made by orbemu {html.escape(__version__)} on {made}.'
                "</p></body></html>\n")

    def write(self, path: Path) -> Path:
        path.write_text(self.render(), encoding="utf-8")
        return path
