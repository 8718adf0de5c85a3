"""The baseline every user of the field knows: TF-IDF n-grams + logistic regression.

Fitted with scikit-learn (the ``classify`` extra); saved as plain numbers in ``tfidf.json``
(vocabulary, idf, coefficients), never a pickle, and applied at prediction time with the
same analyser and a few numpy lines, so a saved baseline loads on any scikit-learn version.
Upsampling becomes sample weights; ``class_weights`` becomes ``class_weight``; the
regularisation strength is chosen on validation macro F1 from ``tfidf_c``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from clinicalner.atomic import atomic_dir
from clinicalner.classify.config import ClassifierConfig
from clinicalner.model.store import MODEL_CONFIG

TFIDF_FILE = "tfidf.json"


def _sklearn() -> Any:
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise ImportError(
            "the TF-IDF baseline needs scikit-learn: pip install 'clinicalner[classify]'"
        ) from None
    import sklearn.feature_extraction.text as text
    import sklearn.linear_model as linear

    return text, linear


def _analyzer(ngrams: int, vocabulary: Mapping[str, int] | None = None, min_df: int = 1) -> Any:
    text, _ = _sklearn()
    return text.CountVectorizer(
        ngram_range=(1, ngrams), lowercase=True, min_df=min_df, vocabulary=vocabulary, dtype=np.float64
    )


def _tfidf(counts: Any, idf: np.ndarray) -> Any:
    """Sublinear tf x idf, rows L2-normalised (scikit-learn's TfidfTransformer, written out)."""
    x = counts.tocsr(copy=True)
    x.data = 1.0 + np.log(x.data)
    x = x.multiply(idf).tocsr()
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return x.multiply(1.0 / norms[:, None]).tocsr()


class TfidfClassifier:
    def __init__(self, config: ClassifierConfig, vocabulary: dict[str, int], idf: np.ndarray,
                 coef: np.ndarray, intercept: np.ndarray, ngrams: int) -> None:  # fmt: skip
        self.config = config
        self.vocabulary = vocabulary
        self.idf = idf
        self.coef = coef
        self.intercept = intercept
        self.ngrams = ngrams
        self._counter = _analyzer(ngrams, vocabulary)

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        x = _tfidf(self._counter.transform(list(texts)), self.idf)
        scores = np.asarray(x @ self.coef.T) + self.intercept
        if self.coef.shape[0] == 1:  # binary: the second class's log-odds
            p1 = 1.0 / (1.0 + np.exp(-scores[:, 0]))
            return np.stack([1.0 - p1, p1], axis=1)
        scores -= scores.max(axis=1, keepdims=True)
        e = np.exp(scores)
        return e / e.sum(axis=1, keepdims=True)

    def save(self, output: str | Path, extra_files: Mapping[str, Any] | None = None) -> Path:
        output = Path(output)
        with atomic_dir(output) as tmp:
            (tmp / MODEL_CONFIG).write_text(self.config.to_json(), encoding="utf-8")
            payload = {
                "ngrams": self.ngrams,
                "vocabulary": self.vocabulary,
                "idf": self.idf.round(8).tolist(),
                "coef": self.coef.round(8).tolist(),
                "intercept": self.intercept.round(8).tolist(),
            }
            (tmp / TFIDF_FILE).write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
            for name, data in (extra_files or {}).items():
                text = data if isinstance(data, str) else json.dumps(data, indent=2, ensure_ascii=False)
                (tmp / name).write_text(text, encoding="utf-8")
        return output

    @classmethod
    def load(cls, path: str | Path) -> TfidfClassifier:
        from clinicalner.classify.store import load_classifier_config

        path = Path(path)
        config = load_classifier_config(path)
        data = json.loads((path / TFIDF_FILE).read_text(encoding="utf-8"))
        return cls(
            config,
            {str(k): int(v) for k, v in data["vocabulary"].items()},
            np.asarray(data["idf"], dtype=np.float64),
            np.asarray(data["coef"], dtype=np.float64),
            np.asarray(data["intercept"], dtype=np.float64),
            int(data["ngrams"]),
        )


def fit_tfidf(
    config: ClassifierConfig,
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    ngrams: int,
    c: float,
    sample_weight: np.ndarray | None,
    class_weight: str,
    seed: int,
) -> tuple[TfidfClassifier, float]:
    """Fit on ``texts``; returns the classifier and the fit's seconds."""
    _, linear = _sklearn()
    t0 = time.perf_counter()
    min_df = 2 if len(texts) >= 1000 else 1
    counter = _analyzer(ngrams, min_df=min_df)
    counts = counter.fit_transform(list(texts))
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    idf = np.log((1 + len(texts)) / (1 + df)) + 1.0
    x = _tfidf(counts, idf)
    weights = None
    if class_weight != "none":
        freq = {lab: sum(1 for y in labels if y == lab) for lab in config.labels}
        raw = {lab: len(labels) / (len(freq) * max(n, 1)) for lab, n in freq.items()}
        weights = {k: (v if class_weight == "inverse" else float(np.sqrt(v))) for k, v in raw.items()}
    lr = linear.LogisticRegression(C=c, max_iter=3000, class_weight=weights, random_state=seed)
    lr.fit(x, np.asarray(labels), sample_weight=sample_weight)
    if list(lr.classes_) != list(config.labels):
        raise ValueError(f"training labels {list(lr.classes_)} differ from the model's {config.labels}")
    vocab = {str(k): int(v) for k, v in counter.vocabulary_.items()}
    clf = TfidfClassifier(config, vocab, idf, np.asarray(lr.coef_), np.asarray(lr.intercept_), ngrams)
    return clf, time.perf_counter() - t0
