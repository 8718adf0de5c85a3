"""``score``: every requested metric, overall and per breakdown, from one pass of matching.

Each metric family is computed once into a (documents, labels, fields) count table; the
overall scores, the per-label / language / folder / document breakdowns and the bootstrap
resamples are all sums of slices of those tables, so adding a breakdown or a thousand
resamples costs array arithmetic, never a second matching.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from clinicalner.document import Document

from . import bootstrap as boot
from .errors import analyse_errors
from .metrics import CLEAN_FAMILIES, FAMILIES, METRICS, MetricSpec
from .prepare import Prepared, prepare
from .report import EvaluationReport, MetricResult, _num
from .summaries import macro_over_labels
from .tokens import resolve_tokenizer

Array = np.ndarray
Intervals = dict[str, tuple[Array, Array]]  # "precision" / "recall" / "f1" -> (low, high) per group

BREAKDOWNS = ("label", "language", "folder", "document")
UNKNOWN = "unknown"


def _group_keys(prep: Prepared, kind: str) -> list[str]:
    keys = []
    for gd, pd_, doc_id in zip(prep.gold_docs, prep.pred_docs, prep.doc_ids, strict=True):
        doc = gd or pd_
        if kind == "document":
            keys.append(doc_id)
        elif kind == "language":
            keys.append((doc.language if doc is not None else None) or UNKNOWN)
        else:
            folder = doc.metadata.get("folder") if doc is not None else None
            keys.append(str(folder) if folder else UNKNOWN)
    return keys


def _not_computable(spec: MetricSpec, reason: str) -> MetricResult:
    nan = float("nan")
    return MetricResult(name=spec.name, precision=nan, recall=nan, f1=nan, not_computable=reason)


def _token_problem(prep: Prepared) -> str | None:
    """Why the token metrics cannot be computed here, if they cannot: documents without text."""
    missing = 0
    g_has = np.bincount(prep.gold.doc, minlength=prep.n_docs) > 0
    p_has = np.bincount(prep.pred.doc, minlength=prep.n_docs) > 0
    for d in np.flatnonzero(g_has | p_has).tolist():
        doc = prep.gold_docs[d]
        if doc is not None and not doc.text:
            missing += 1
    if missing:
        return (
            f"{missing} gold document(s) with spans have no text (a bare TSV); token metrics cut the "
            "text into words: give the gold with its texts (a MultiClinAI tree, BRAT, JSONL...)"
        )
    return None


def _results(
    spec: MetricSpec,
    x: Array,
    ci: Intervals | None,
    with_macro: bool,
    skip_empty: bool = False,
) -> list[MetricResult]:
    """MetricResults for a stack of count tables ``x`` of shape (groups, labels, fields)."""
    p, r, f = spec.summarise(x, skip_empty=skip_empty)
    macro = macro_over_labels(spec.summarise, x, skip_empty) if with_macro and spec.macro else None
    sums = x.sum(axis=-2)
    out = []
    for i in range(x.shape[0]):
        out.append(
            MetricResult(
                name=spec.name,
                precision=float(p[i]),
                recall=float(r[i]),
                f1=float(f[i]),
                counts={k: _num(v) for k, v in zip(spec.fields, sums[i].tolist(), strict=True)},
                macro_precision=None if macro is None else float(macro[0][i]),
                macro_recall=None if macro is None else float(macro[1][i]),
                macro_f1=None if macro is None else float(macro[2][i]),
                ci=None if ci is None else {k: (float(lo[i]), float(hi[i])) for k, (lo, hi) in ci.items()},
            )
        )
    return out


def _bootstrap(
    tables: dict[str, Array],
    specs: list[MetricSpec],
    docs: Array,
    n_resamples: int,
    seed: int,
    stream: int,
    per_label: bool,
    skip_empty: bool = False,
) -> dict[str, tuple[Intervals, Intervals | None]]:
    """Percentile intervals of each metric (overall, and per label if asked) over resampled docs."""
    overall: dict[str, list[Array]] = {s.name: [] for s in specs}
    labels: dict[str, list[Array]] = {s.name: [] for s in specs}
    sub = {k: v[docs] for k, v in tables.items()}
    for idx in boot.resample_indices(len(docs), n_resamples, seed, stream):
        w = boot.multiplicities(idx, len(docs))
        counts = {k: boot.resampled_counts(v, w) for k, v in sub.items()}
        for s in specs:
            xs = counts[s.family][..., list(s.columns)]
            overall[s.name].append(np.stack(s.summarise(xs, skip_empty=skip_empty), axis=-1))
            if per_label:
                labels[s.name].append(np.stack(s.summarise(xs[:, :, None, :]), axis=-1))
    out: dict[str, tuple[Intervals, Intervals | None]] = {}
    for s in specs:
        lo, hi = boot.interval(np.concatenate(overall[s.name]))
        o = {k: (lo[..., i : i + 1], hi[..., i : i + 1]) for i, k in enumerate(("precision", "recall", "f1"))}
        lab = None
        if per_label:
            llo, lhi = boot.interval(np.concatenate(labels[s.name]))
            lab = {k: (llo[:, i], lhi[:, i]) for i, k in enumerate(("precision", "recall", "f1"))}
        out[s.name] = (o, lab)
    return out


def score(
    gold: Iterable[Document],
    pred: Iterable[Document],
    *,
    metrics: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
    breakdowns: Sequence[str] = ("label",),
    bootstrap: int = 0,
    seed: int = 0,
    tokenize: Callable[[str], Iterable[tuple[int, int]]] | re.Pattern[str] | str | None = None,
    mask_unannotated: bool = True,
    invalid_predictions: str | None = None,
    errors: bool = False,
) -> EvaluationReport:
    """Score predicted documents against gold documents.

    ``invalid_predictions``: ``error`` (a predicted span with end <= start stops the run, as the
    official MultiClinAI evaluator does; so does one past the end of a known text) or
    ``false_positive`` (counted as a false positive by
    every metric, as the MultiCardioNER evaluator does). ``None`` (default): ``false_positive``
    when the only metric asked for is ``multicardioner`` (its official scorer's rule), else ``error``.

    A metric the data cannot give (the token metrics on gold without texts) is reported as not
    computable (``MetricResult.not_computable`` says why; its numbers are NaN), never as 0.

    ``metrics``: names from :data:`METRICS` (default: all). ``labels``: restrict both sides to
    these entity types and average over exactly them (default: the types seen). ``breakdowns``:
    any of "label", "language", "folder" (``Document.metadata["folder"]``) and "document".
    ``bootstrap``: number of document resamples for 95% percentile intervals (0: none), drawn
    from ``seed``. ``tokenize``: the token metrics' tokenizer (None: the default words; a
    tokenizer name as ``clinicalner evaluate --tokenizer`` takes it, see
    :mod:`clinicalner.evaluate.splitters`: ``gliner``, ``re:<regex>``, a tokenizer.json...; a
    compiled regex; or a callable returning (start, end) pairs). ``mask_unannotated``: ignore a
    prediction whose type its gold document does not annotate. The pairing and counting
    policies are listed in ``report.to_dict()["policy"]``. ``errors``: also classify every
    error (boundary, type, missed, spurious; see :mod:`clinicalner.evaluate.errors`) into
    ``report.errors``.
    """
    names, invalid_predictions = checked_settings(metrics, breakdowns, bootstrap, invalid_predictions)
    prep = prepare(
        gold, pred, labels=labels, mask_unannotated=mask_unannotated, invalid_predictions=invalid_predictions
    )
    return score_prepared(
        prep,
        names,
        labels=labels,
        breakdowns=breakdowns,
        bootstrap=bootstrap,
        seed=seed,
        tokenize=tokenize,
        mask_unannotated=mask_unannotated,
        invalid_predictions=invalid_predictions,
        errors=errors,
    )


def checked_settings(
    metrics: Sequence[str] | None, breakdowns: Sequence[str], bootstrap: int, invalid_predictions: str | None
) -> tuple[list[str], str]:
    """The metric names to compute and the invalid-prediction policy; a ValueError for bad settings."""
    names = list(METRICS) if metrics is None else list(dict.fromkeys(metrics))
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise ValueError(f"unknown metrics {unknown}; known: {', '.join(METRICS)}")
    bad = [b for b in breakdowns if b not in BREAKDOWNS]
    if bad:
        raise ValueError(f"unknown breakdowns {bad}; known: {', '.join(BREAKDOWNS)}")
    if bootstrap < 0:
        raise ValueError("bootstrap must be >= 0")
    if invalid_predictions is None:
        invalid_predictions = "false_positive" if names == ["multicardioner"] else "error"
    return names, invalid_predictions


def score_prepared(
    prep: Prepared,
    names: list[str],
    *,
    labels: Sequence[str] | None,
    breakdowns: Sequence[str],
    bootstrap: int,
    seed: int,
    tokenize: Callable[[str], Iterable[tuple[int, int]]] | re.Pattern[str] | str | None,
    mask_unannotated: bool,
    invalid_predictions: str,
    errors: bool,
) -> EvaluationReport:
    """:func:`score` from prepared spans (settings already checked by :func:`checked_settings`)."""
    all_specs = [METRICS[n] for n in names]
    unavailable: dict[str, str] = {}
    if any(s.family == "tokens" for s in all_specs):
        problem = _token_problem(prep)
        if problem:
            unavailable.update({s.name: problem for s in all_specs if s.family == "tokens"})
    specs = [s for s in all_specs if s.name not in unavailable]
    tokenizer_name = None
    tokenizer: Any = None
    if any(s.family == "tokens" for s in specs):
        tokenizer, tokenizer_name = resolve_tokenizer(tokenize)
    tables = {fam: FAMILIES[fam](prep, tokenizer) for fam in dict.fromkeys(s.family for s in specs)}
    if CLEAN_FAMILIES.intersection(tables):
        prep.stats.update(prep.clean_stats())
    all_docs = np.arange(prep.n_docs)

    cis = _bootstrap(tables, specs, all_docs, bootstrap, seed, 0, "label" in breakdowns) if bootstrap else {}
    results: dict[str, MetricResult] = {}
    for s in all_specs:
        if s.name in unavailable:
            results[s.name] = _not_computable(s, unavailable[s.name])
            continue
        x = tables[s.family][..., list(s.columns)].sum(axis=0)[None]
        results[s.name] = _results(s, x, cis[s.name][0] if cis else None, True)[0]

    g_cells = prep.cells(prep.gold.doc, prep.gold.label)
    p_cells = prep.cells(prep.pred.doc, prep.pred.label)
    out_breakdowns: dict[str, dict[str, dict[str, MetricResult]]] = {}
    sizes: dict[str, dict[str, dict[str, int]]] = {}
    for kind in breakdowns:
        groups: dict[str, dict[str, MetricResult]] = {}
        if kind == "label":
            for s in specs:
                x = tables[s.family][..., list(s.columns)].sum(axis=0)[:, None, :]
                ci = cis[s.name][1] if cis else None
                for lab, res in zip(prep.labels, _results(s, x, ci, False), strict=True):
                    groups.setdefault(lab, {})[s.name] = res
            for lab in prep.labels:
                for name, why in unavailable.items():
                    groups.setdefault(lab, {})[name] = _not_computable(METRICS[name], why)
            sizes[kind] = {
                lab: {"gold": int(g_cells[:, i].sum()), "predicted": int(p_cells[:, i].sum())}
                for i, lab in enumerate(prep.labels)
            }
        else:
            keys = _group_keys(prep, kind)
            uniq = sorted(set(keys)) if kind != "document" else list(dict.fromkeys(keys))
            where = {k: i for i, k in enumerate(uniq)}
            gid = np.array([where[k] for k in keys], dtype=np.int64)
            group_ci: dict[str, list[Any]] = {s.name: [] for s in specs}
            if bootstrap and kind != "document":
                for gi in range(len(uniq)):
                    docs = np.flatnonzero(gid == gi)
                    stream = 1 + gi + (0 if kind == "language" else 1_000_000)
                    res = _bootstrap(tables, specs, docs, bootstrap, seed, stream, False, labels is None)
                    for s in specs:
                        group_ci[s.name].append(res[s.name][0])
            for s in specs:
                t = tables[s.family][..., list(s.columns)]
                x = np.zeros((len(uniq), *t.shape[1:]))
                np.add.at(x, gid, t)
                ci = None
                if group_ci[s.name]:
                    ci = {
                        k: (
                            np.concatenate([c[k][0] for c in group_ci[s.name]]),
                            np.concatenate([c[k][1] for c in group_ci[s.name]]),
                        )
                        for k in ("precision", "recall", "f1")
                    }
                for key, res in zip(uniq, _results(s, x, ci, True, labels is None), strict=True):
                    groups.setdefault(key, {})[s.name] = res
            for key in uniq:
                for name, why in unavailable.items():
                    groups.setdefault(key, {})[name] = _not_computable(METRICS[name], why)
            gs = np.zeros(len(uniq), dtype=np.int64)
            ps = np.zeros(len(uniq), dtype=np.int64)
            np.add.at(gs, gid, g_cells.sum(axis=1).astype(np.int64))
            np.add.at(ps, gid, p_cells.sum(axis=1).astype(np.int64))
            sizes[kind] = {k: {"gold": int(gs[i]), "predicted": int(ps[i])} for i, k in enumerate(uniq)}
        out_breakdowns[kind] = groups

    settings = {
        "metrics": names,
        "labels": None if labels is None else list(labels),
        "breakdowns": list(breakdowns),
        "bootstrap": bootstrap,
        "seed": seed,
        "mask_unannotated": mask_unannotated,
        "invalid_predictions": invalid_predictions,
        "tokenizer": tokenizer_name,
    }
    # breakdown groups list the metrics in the order asked for
    for groups in out_breakdowns.values():
        for key, res in groups.items():
            groups[key] = {n: res[n] for n in names if n in res}
    return EvaluationReport(
        results,
        out_breakdowns,
        sizes,
        prep.labels,
        dict(prep.stats),
        settings,
        list(prep.warnings),
        errors=analyse_errors(prep) if errors else None,
    )
