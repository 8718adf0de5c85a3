"""The leaderboard as one self-contained HTML page: tables and plots, no external files.

Plots are drawn with matplotlib's object API (``Figure``, no pyplot global state, no GUI
backend) and embedded as base64 PNG, so the page can be mailed or archived as it is.
matplotlib is imported here only: running a benchmark without the page does not need it.
"""

from __future__ import annotations

import base64
import html
import io
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from clinicalner.atomic import atomic_write
from clinicalner.benchmark.leaderboard import LLM_COLUMNS, PARTIAL_NOTE, Leaderboard, coverage_text

MARKERS = "os^Dv<>pP*Xh"

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1200px;
color:#222;padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:.92em}
th,td{border:1px solid #ddd;padding:.3em .6em;text-align:right}
th{background:#f4f4f4}td.name,th.name{text-align:left}
tr.best td{font-weight:600}
.up{color:#1a7f37}.down{color:#cf222e}.muted{color:#888}
figure{margin:1em 0}figcaption{font-size:.9em;color:#555}
img{max-width:100%}
"""


# Plots are drawn at most this wide (inches at DPI): the page is 1200 px wide, so an image is
# never scaled down and its 8-9 pt text stays 12-14 px on screen, whatever the number of taggers.
DPI = 110
MAX_WIDTH = 10.4
NAME_WIDTH = 18  # characters per line of a wrapped tagger or dataset name
MISSING = "n/a"


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)  # constrained layout already fits: no second "tight" draw
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(min(width, MAX_WIDTH), height), layout="constrained")


def _colors(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def _wrap(name: str, width: int = NAME_WIDTH, lines: int = 3) -> str:
    """A name on at most ``lines`` lines of ``width`` characters (cut with … beyond)."""
    wrapped = textwrap.wrap(str(name), width, break_long_words=True, break_on_hyphens=True) or [str(name)]
    if len(wrapped) > lines:
        rest = "".join(wrapped[lines - 1 :])
        wrapped = [*wrapped[: lines - 1], rest[: width - 1] + "…"]
    return "\n".join(wrapped)


def entity_bars(board: Leaderboard, metric: str | None = None) -> str:
    """One small panel per entity type, one horizontal bar per tagger (F1 of ``metric``, by
    default the ranking one). Tagger names are the bars' labels, so no legend is needed; a
    tagger without a score for a type gets "n/a", not a bar at 0."""
    metric = metric or board.rank_by
    labels, taggers = board.labels, board.taggers
    ncols = min(3, max(1, len(labels)))
    nrows = -(-len(labels) // ncols)
    names = [_wrap(t, 24) for t in taggers]
    lines = max(n.count("\n") + 1 for n in names)
    # Each bar as tall as its (wrapped) name, so that names never run into each other.
    panel_height = max(0.26, 0.16 * lines + 0.06) * len(taggers) + 0.75
    fig = _figure(MAX_WIDTH, panel_height * nrows + 0.4)
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True)
    colors = _colors(len(taggers))
    ys = list(range(len(taggers)))
    for k, ax in enumerate(axes.flat):
        if k >= len(labels):
            ax.set_visible(False)
            continue
        label = labels[k]
        for y, tagger in zip(ys, taggers, strict=True):
            value = board.entity_f1(tagger, metric, label)
            if value is None:
                ax.text(1, y, MISSING, va="center", ha="left", fontsize=8, color="#888", style="italic")
                continue
            ax.barh(y, value, height=0.7, color=colors[y])
            ax.text(
                min(value, 100) + 1, y, f"{value:.1f}", va="center", ha="left", fontsize=7.5, color="#333"
            )
        ax.set_yticks(ys, names, fontsize=8.5)
        if k == 0:  # shared: the first tagger on top, in every panel
            ax.invert_yaxis()
        ax.set_xlim(0, 112)
        ax.set_xticks([0, 25, 50, 75, 100])
        ax.tick_params(axis="x", labelsize=8)
        ax.set_title(_wrap(label, 30), fontsize=9.5)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(f"{_title(metric)}: F1 ×100 per entity type", fontsize=10.5)
    return _png(fig)


def dataset_boxes(board: Leaderboard) -> str:
    """Per dataset, the spread of the taggers' F1 (box) with each tagger as a point; a dataset
    no tagger has a score on says "n/a" instead of showing a box at 0."""
    metrics, datasets, taggers = board.metrics, board.dataset_names, board.taggers
    fig = _figure(MAX_WIDTH, 2.7 * len(metrics) + 0.4)
    axes = fig.subplots(len(metrics), 1, squeeze=False)[:, 0]
    colors = _colors(len(taggers))
    positions = list(range(1, len(datasets) + 1))
    for ax, metric in zip(axes, metrics, strict=True):
        data = [[v for t in taggers if (v := board.dataset_f1(t, d, metric)) is not None] for d in datasets]
        present = [(p, d) for p, d in zip(positions, data, strict=True) if d]
        if present:
            ax.boxplot(
                [d for _, d in present], positions=[p for p, _ in present], widths=0.5, showfliers=False
            )
        for p, d in zip(positions, data, strict=True):
            if not d:
                ax.text(p, 50, MISSING, ha="center", va="center", fontsize=8, color="#888", style="italic")
        for i, tagger in enumerate(taggers):
            offset = (i - (len(taggers) - 1) / 2) * (0.3 / max(1, len(taggers)))
            pts = [
                (p + offset, v)
                for p, d in zip(positions, datasets, strict=True)
                if (v := board.dataset_f1(tagger, d, metric)) is not None
            ]
            if pts:
                ax.scatter(*zip(*pts, strict=True), s=22, color=colors[i], zorder=3)
        ax.set_xticks(positions, [_wrap(d, 14) for d in datasets], fontsize=8.5)
        ax.set_xlim(0.4, len(datasets) + 0.6)
        ax.set_ylabel("F1 ×100", fontsize=8.5)
        ax.set_ylim(0, 103)  # a point at 100 is drawn whole
        ax.tick_params(axis="y", labelsize=8)
        ax.set_title(_title(metric), fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], color=c, marker="o", ls="", label=_wrap(t))
        for t, c in zip(taggers, colors, strict=True)
    ]
    fig.legend(handles=handles, loc="outside right upper", fontsize=8.5)
    return _png(fig)


def precision_recall(board: Leaderboard) -> str:
    """Precision against recall of every run: colour = tagger, marker = dataset."""
    metrics, datasets, taggers = board.metrics, board.dataset_names, board.taggers
    ncols = min(2, len(metrics))
    nrows = -(-len(metrics) // ncols)
    fig = _figure(MAX_WIDTH, 3.9 * nrows + 0.2)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    colors = _colors(len(taggers))
    for k, ax in enumerate(axes.flat):
        if k >= len(metrics):
            ax.set_visible(False)
            continue
        metric = metrics[k]
        for i, tagger in enumerate(taggers):
            for j, dataset in enumerate(datasets):
                r = board.run(tagger, dataset)
                s = r.get(metric) if r is not None else None
                if s is None:
                    continue
                ax.scatter(
                    s["recall"] * 100,
                    s["precision"] * 100,
                    color=colors[i],
                    marker=MARKERS[j % len(MARKERS)],
                    s=36,
                    zorder=3,
                )
        ax.plot([0, 100], [0, 100], color="#bbb", lw=0.8, zorder=1)
        ax.set_xlim(0, 103)
        ax.set_ylim(0, 103)  # a point at 100 is drawn whole
        ax.set_aspect("equal")
        ax.set_xlabel("Recall ×100", fontsize=8.5)
        ax.set_ylabel("Precision ×100", fontsize=8.5)
        ax.tick_params(labelsize=8)
        ax.set_title(_title(metric), fontsize=10)
        ax.grid(alpha=0.3)
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], color=c, marker="o", ls="", label=_wrap(t))
        for t, c in zip(taggers, colors, strict=True)
    ]
    handles += [
        Line2D([], [], color="#444", marker=MARKERS[j % len(MARKERS)], ls="", label=_wrap(d))
        for j, d in enumerate(datasets)
    ]
    fig.legend(handles=handles, loc="outside right upper", fontsize=8.5)
    return _png(fig)


def _title(metric: str) -> str:
    from clinicalner.benchmark.leaderboard import metric_title

    return metric_title(metric)


def _e(s: Any) -> str:
    return html.escape(str(s), quote=True)


def _tagger(row: dict[str, Any]) -> str:
    """A tagger's name; a partial one (not on every dataset, unranked) is marked with *."""
    name = _e(row["tagger"])
    return (
        f'{name} <span class="muted" title="not on every dataset: unranked">*</span>'
        if row.get("partial")
        else name
    )


def _num(v: float | None) -> str:
    return '<span class="muted">—</span>' if v is None else f"{v:.2f}"


def _delta(v: int | None) -> str:
    if v is None:
        return '<span class="muted">—</span>'
    if v > 0:
        return f'<span class="up">▲{v}</span>'
    if v < 0:
        return f'<span class="down">▼{-v}</span>'
    return '<span class="muted">0</span>'


def _table(
    header: Sequence[str], rows: Sequence[Sequence[str]], names: int = 1, best_first: bool = False
) -> str:
    """``header`` and cells are HTML already; the first ``names`` columns are left-aligned."""
    th = "".join(f'<th class="name">{h}</th>' if i < names else f"<th>{h}</th>" for i, h in enumerate(header))
    body = []
    for k, row in enumerate(rows):
        cls = ' class="best"' if best_first and k == 0 else ""
        tds = "".join(
            f'<td class="name">{c}</td>' if i < names else f"<td>{c}</td>" for i, c in enumerate(row)
        )
        body.append(f"<tr{cls}>{tds}</tr>")
    return f"<table><thead><tr>{th}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render_html(board: Leaderboard) -> str:
    rows = board.rows()
    n = len(board.datasets)
    metrics = board.metrics
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(board.name)}</title><style>{CSS}</style></head><body>",
        f"<h1>{_e(board.name)}</h1>",
        f"<p>{len(board.taggers)} taggers on {n} datasets, ranked by <b>{_e(_title(board.rank_by))}</b> "
        f"(<code>{_e(board.rank_by)}</code>): mean over datasets of each dataset's F1, ×100. "
        "▲/▼: places gained or lost under that metric.</p>",
        '<h2 id="leaderboard">Leaderboard</h2>',
    ]
    header = ["Rank", "Tagger", _e(_title(board.rank_by))]
    for m in metrics[1:]:
        header += [_e(_title(m)), "Rank", "Δ"]
    header.append("Datasets")
    table = []
    for r in rows:
        cells = [
            _e(r["rank"] if r["rank"] is not None else "—"),
            _tagger(r),
            _num(r[board.rank_by]["f1"]),
        ]
        for m in metrics[1:]:
            cells += [
                _num(r[m]["f1"]),
                _e(r[m]["rank"] if r[m]["rank"] is not None else "—"),
                _delta(r[m]["rank_change"]),
            ]
        cells.append(_e(coverage_text(r, n)))
        table.append(cells)
    parts.append(_table(header, table, names=2, best_first=True))
    if board.partial_taggers:
        parts.append(f'<p class="muted">{_e(PARTIAL_NOTE.replace(chr(92), "").replace("`", ""))}</p>')

    parts.append('<h2 id="datasets-scores">Per dataset</h2>')
    for m in metrics:
        parts.append(f"<h3>{_e(_title(m))}</h3>")
        parts.append(
            _table(
                ["Tagger", *[_e(d) for d in board.dataset_names], "Mean"],
                [
                    [
                        _tagger(r),
                        *[_num(r[m]["per_dataset"][d]) for d in board.dataset_names],
                        _num(r[m]["f1"]),
                    ]
                    for r in rows
                ],
            )
        )
    parts.append(
        f'<figure><img alt="per-dataset box plots" src="data:image/png;base64,{dataset_boxes(board)}">'
        "<figcaption>Spread of the taggers' F1 on each dataset; points are taggers.</figcaption></figure>"
    )

    parts.append('<h2 id="entities">Per entity type</h2>')
    parts.append(
        "<p>Mean, over the datasets that have the type, of the per-dataset F1 of that type "
        "(as the M42 benchmark reports it).</p>"
    )
    for m in metrics:
        parts.append(f"<h3>{_e(_title(m))}</h3>")
        parts.append(
            _table(
                ["Tagger", *[_e(label) for label in board.labels]],
                [[_tagger(r), *[_num(r[m]["per_entity"][label]) for label in board.labels]] for r in rows],
            )
        )
        parts.append(
            f'<figure><img alt="per-entity bars" src="data:image/png;base64,{entity_bars(board, m)}">'
            f"<figcaption>{_e(_title(m))}: F1 per entity type, mean over the datasets that have it; "
            "n/a: no score for that type.</figcaption></figure>"
        )

    parts.append('<h2 id="precision-recall">Precision and recall</h2>')
    parts.append(
        f'<figure><img alt="precision-recall scatter" src="data:image/png;base64,{precision_recall(board)}">'
        "<figcaption>Each point is one tagger on one dataset.</figcaption></figure>"
    )

    parts.append('<h2 id="dataset-info">Datasets</h2>')
    parts.append(
        _table(
            ["Dataset", "Labels", "Documents", "Spans", "Dropped (no span)", "Notes"],
            [
                [
                    _e(d["name"]),
                    _e(", ".join(d["labels"])),
                    _e(d.get("documents", "")),
                    _e(sum(d.get("spans", {}).values())),
                    _e(d.get("documents_dropped_empty", 0)),
                    _e(d.get("note", "")),
                ]
                for d in board.datasets
            ],
            names=2,
        )
    )
    parts.append('<h2 id="timing">Timing</h2>')
    parts.append(
        _table(
            ["Tagger", "Dataset", "Seconds", "Docs/s", "Chars/s", "Cached"],
            [
                [
                    _e(t["tagger"]),
                    _e(t["dataset"]),
                    "external" if t["external"] else _e(t["seconds"]),
                    _e(t["documents_per_second"] or "—"),
                    _e(t["characters_per_second"] or "—"),
                    "yes" if t["cached"] else "no",
                ]
                for t in board.timing_rows()
            ],
            names=2,
        )
    )
    llm = board.llm_rows()
    if llm:
        parts.append('<h2 id="llm">LLM answers</h2>')
        parts.append(
            "<p>Mentions the model returned: matched to the text, unmatched (not found in it: invented or "
            "rewritten), of an unknown label; replies that could not be read; chunks given up.</p>"
        )
        parts.append(
            _table(
                ["Tagger", "Dataset", *[_e(title) for title in LLM_COLUMNS.values()]],
                [[_e(r["tagger"]), _e(r["dataset"]), *[_e(r[k]) for k in LLM_COLUMNS]] for r in llm],
                names=2,
            )
        )
    if board.notes:
        parts.append('<h2 id="notes">Notes</h2><ul>')
        parts += [f"<li>{_e(note)}</li>" for note in board.notes]
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_html(board: Leaderboard, path: str | Path) -> Path:
    path = Path(path)
    text = render_html(board)
    with atomic_write(path) as f:
        f.write(text)
    return path
