"""The leaderboard as one self-contained HTML page: tables and plots, no external files.

Plots are drawn with matplotlib's object API (``Figure``, no pyplot global state, no GUI
backend) and embedded as base64 PNG, so the page can be mailed or archived as it is.
matplotlib is imported here only: running a benchmark without the page does not need it.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clinicalner.atomic import atomic_write

if TYPE_CHECKING:
    from clinicalner.benchmark.leaderboard import Leaderboard

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


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)  # constrained layout already fits: no second "tight" draw
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _colors(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def entity_bars(board: Leaderboard) -> str:
    """Grouped bars: per entity type, one bar per tagger, one panel per leaderboard metric."""
    metrics, labels, taggers = board.metrics, board.labels, board.taggers
    fig = _figure(max(6.0, 1.2 * len(labels) * max(1, len(taggers)) ** 0.5 + 2), 2.8 * len(metrics))
    axes = fig.subplots(len(metrics), 1, squeeze=False)[:, 0]
    colors = _colors(len(taggers))
    width = 0.8 / max(1, len(taggers))
    for ax, metric in zip(axes, metrics, strict=True):
        for i, tagger in enumerate(taggers):
            values = [board.entity_f1(tagger, metric, label) for label in labels]
            xs = [k + (i - (len(taggers) - 1) / 2) * width for k in range(len(labels))]
            ax.bar(xs, [v or 0.0 for v in values], width, label=tagger, color=colors[i])
        ax.set_xticks(range(len(labels)), labels)
        ax.set_ylabel("F1 ×100")
        ax.set_ylim(0, 100)
        ax.set_title(_title(metric), fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=8, ncols=min(4, len(taggers)), loc="upper right")
    return _png(fig)


def dataset_boxes(board: Leaderboard) -> str:
    """Per dataset, the spread of the taggers' F1 (box) with each tagger as a point."""
    metrics, datasets, taggers = board.metrics, board.dataset_names, board.taggers
    fig = _figure(max(6.0, 1.4 * len(datasets) + 2), 2.8 * len(metrics))
    axes = fig.subplots(len(metrics), 1, squeeze=False)[:, 0]
    colors = _colors(len(taggers))
    for ax, metric in zip(axes, metrics, strict=True):
        data = [[v for t in taggers if (v := board.dataset_f1(t, d, metric)) is not None] for d in datasets]
        positions = list(range(1, len(datasets) + 1))
        ax.boxplot([d or [0.0] for d in data], positions=positions, widths=0.5, showfliers=False)
        for i, tagger in enumerate(taggers):
            offset = (i - (len(taggers) - 1) / 2) * (0.3 / max(1, len(taggers)))
            pts = [
                (p + offset, v)
                for p, d in zip(positions, datasets, strict=True)
                if (v := board.dataset_f1(tagger, d, metric)) is not None
            ]
            if pts:
                ax.scatter(*zip(*pts, strict=True), s=22, color=colors[i], label=tagger, zorder=3)
        ax.set_xticks(positions, datasets)
        ax.set_ylabel("F1 ×100")
        ax.set_ylim(0, 100)
        ax.set_title(_title(metric), fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=8, ncols=min(4, len(taggers)), loc="upper right")
    return _png(fig)


def precision_recall(board: Leaderboard) -> str:
    """Precision against recall of every run: colour = tagger, marker = dataset."""
    metrics, datasets, taggers = board.metrics, board.dataset_names, board.taggers
    fig = _figure(4.2 * len(metrics), 4.0)
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    colors = _colors(len(taggers))
    for ax, metric in zip(axes, metrics, strict=True):
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
        ax.set_xlim(0, 100)
        ax.set_ylim(0, 100)
        ax.set_xlabel("Recall ×100")
        ax.set_ylabel("Precision ×100")
        ax.set_title(_title(metric), fontsize=10)
        ax.grid(alpha=0.3)
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], color=c, marker="o", ls="", label=t) for t, c in zip(taggers, colors, strict=True)
    ]
    handles += [
        Line2D([], [], color="#444", marker=MARKERS[j % len(MARKERS)], ls="", label=d)
        for j, d in enumerate(datasets)
    ]
    fig.legend(handles=handles, loc="outside right upper", fontsize=8)
    return _png(fig)


def _title(metric: str) -> str:
    from clinicalner.benchmark.leaderboard import metric_title

    return metric_title(metric)


def _e(s: Any) -> str:
    return html.escape(str(s), quote=True)


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
            _e(r["tagger"]),
            _num(r[board.rank_by]["f1"]),
        ]
        for m in metrics[1:]:
            cells += [
                _num(r[m]["f1"]),
                _e(r[m]["rank"] if r[m]["rank"] is not None else "—"),
                _delta(r[m]["rank_change"]),
            ]
        cells.append(f"{r['datasets']}/{n}")
        table.append(cells)
    parts.append(_table(header, table, names=2, best_first=True))

    parts.append('<h2 id="datasets-scores">Per dataset</h2>')
    for m in metrics:
        parts.append(f"<h3>{_e(_title(m))}</h3>")
        parts.append(
            _table(
                ["Tagger", *[_e(d) for d in board.dataset_names], "Mean"],
                [
                    [
                        _e(r["tagger"]),
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
                [
                    [_e(r["tagger"]), *[_num(r[m]["per_entity"][label]) for label in board.labels]]
                    for r in rows
                ],
            )
        )
    parts.append(
        f'<figure><img alt="per-entity bars" src="data:image/png;base64,{entity_bars(board)}">'
        "<figcaption>F1 per entity type, mean over datasets.</figcaption></figure>"
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
