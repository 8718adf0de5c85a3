"""An instruction-tuned LLM as a binary text classifier, DNT-style (SMM4H-HeaRD 2026).

The model is asked one yes/no question about the text and told to answer with a single
digit, ``1`` (yes) or ``0`` (no). Its confidence is the softmax over the log-probabilities of
the tokens ``0`` and ``1`` at the first generated position, read from the reply's
``logprobs`` (``top_logprobs``) that OpenAI, vLLM and llama.cpp return when asked. A server
that returns no log-probabilities still gives an answer: the digit is read from the text,
its probability set to 1 or 0, and the prediction flagged ``no_logprobs`` so a report can
say how many confidences are real. A reply that is not a digit is flagged ``unparsed``
(P = 0.5, negative label). Requests go through the span LLM tagger's
:class:`~clinicalner.predict.llm.ChatClient` (retries, backoff, API key from the environment).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

import numpy as np

from clinicalner.classify.config import ClassifierConfig
from clinicalner.classify.data import LabelledText, TextPrediction
from clinicalner.classify.predict import to_predictions
from clinicalner.predict.llm import ChatClient

SYSTEM = (
    "You are an expert in pharmacovigilance and clinical text. You read one text and answer "
    "a yes/no question about it with a single digit."
)
QUESTION = "Does the text describe an adverse drug event, that is, a harmful effect caused by a medication?"
USER = """{question}

Answer 1 for yes and 0 for no. Answer with the single digit only.

Text: {text}"""

NO_LOGPROBS = "no_logprobs"
UNPARSED = "unparsed"


@dataclass
class LLMClassifyStats:
    texts: int = 0
    requests: int = 0
    retries: int = 0
    with_logprobs: int = 0
    no_logprobs: int = 0
    unparsed: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def digit_logprobs(choice: Mapping[str, object]) -> dict[str, float] | None:
    """Log-probabilities of ``0`` and ``1`` at the first generated position, or None without them.

    Token spellings that strip to the digit (``" 1"``, ``"1"``) are pooled (log-sum-exp); a digit
    absent from ``top_logprobs`` gets no mass (-inf). The first token's own entry counts too,
    for servers that send ``top_logprobs`` empty.
    """
    lp = choice.get("logprobs")
    if not isinstance(lp, Mapping):
        return None
    content = lp.get("content")
    if not isinstance(content, list) or not content or not isinstance(content[0], Mapping):
        return None
    first = content[0]
    candidates = [*(first.get("top_logprobs") or []), first]
    found: dict[str, list[float]] = {"0": [], "1": []}
    seen: set[tuple[str, float]] = set()
    for c in candidates:
        if not isinstance(c, Mapping):
            continue
        token, value = c.get("token"), c.get("logprob")
        if not isinstance(token, str) or not isinstance(value, (int, float)):
            continue
        key = (token, float(value))
        if key in seen:
            continue
        seen.add(key)
        digit = token.strip()
        if digit in found:
            found[digit].append(float(value))
    if not found["0"] and not found["1"]:
        return None
    return {d: (float(np.logaddexp.reduce(v)) if v else -math.inf) for d, v in found.items()}


def p_one(logprobs: Mapping[str, float]) -> float:
    """Softmax over the two digits' log-probabilities: the probability of ``1``."""
    a, b = logprobs["0"], logprobs["1"]
    if a == -math.inf and b == -math.inf:
        return 0.5
    m = max(a, b)
    ea, eb = math.exp(a - m), math.exp(b - m)
    return eb / (ea + eb)


class LLMClassifier:
    """Binary classification by prompting a chat model; ``labels`` is (negative, positive)."""

    def __init__(
        self,
        base_url: str,
        model: str,
        labels: Sequence[str] = ("NO_ADE", "ADE"),
        *,
        question: str = QUESTION,
        system_prompt: str | None = None,
        top_logprobs: int = 5,
        api_key_env: str | None = "OPENAI_API_KEY",
        timeout: float = 120.0,
        max_retries: int = 4,
        concurrency: int = 1,
        extra_body: Mapping[str, object] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        if len(labels) != 2 or labels[0] == labels[1]:
            raise ValueError("the LLM classifier takes two labels: the negative class, then the positive one")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.config = ClassifierConfig(
            labels=list(labels), kind="llm", base_model=f"llm:{model}", positive=labels[1], threshold=0.5
        )
        self.question = question
        self.system_prompt = system_prompt or SYSTEM
        self.top_logprobs = top_logprobs
        self.concurrency = concurrency
        kwargs = {"sleep": sleep} if sleep is not None else {}
        self.client = ChatClient(
            base_url,
            model,
            api_key_env=api_key_env,
            timeout=timeout,
            max_retries=max_retries,
            extra_body=extra_body,
            **kwargs,
        )
        self.stats = LLMClassifyStats()
        self._lock = threading.Lock()

    def messages(self, text: str) -> list[dict[str, str]]:
        return [
            {"role": "system", "content": self.system_prompt},
            {"role": "user", "content": USER.format(question=self.question, text=text)},
        ]

    def one(self, text: str) -> tuple[float, str]:
        """P(positive) of one text and its flag ('' when read from log-probabilities)."""
        choice, retries = self.client.complete_choice(
            self.messages(text), max_tokens=1, logprobs=True, top_logprobs=self.top_logprobs
        )
        digits = digit_logprobs(choice)
        message = choice.get("message")
        content = str(message.get("content") or "") if isinstance(message, Mapping) else ""
        if digits is not None:
            flag, p = "", p_one(digits)
        else:
            answer = content.strip()[:1]
            flag = NO_LOGPROBS if answer in ("0", "1") else UNPARSED
            p = {"1": 1.0, "0": 0.0}.get(answer, 0.5)
        with self._lock:
            self.stats.texts += 1
            self.stats.requests += 1 + retries
            self.stats.retries += retries
            if flag == "":
                self.stats.with_logprobs += 1
            elif flag == NO_LOGPROBS:
                self.stats.no_logprobs += 1
            else:
                self.stats.unparsed += 1
        return p, flag

    def _all(self, texts: Sequence[str]) -> list[tuple[float, str]]:
        if self.concurrency > 1 and len(texts) > 1:
            with ThreadPoolExecutor(max_workers=min(self.concurrency, len(texts))) as pool:
                return list(pool.map(self.one, texts))
        return [self.one(t) for t in texts]

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        p = np.asarray([x[0] for x in self._all(texts)], dtype=np.float64).reshape(-1)
        return np.stack([1.0 - p, p], axis=1) if len(p) else np.zeros((0, 2))

    def predict(self, texts: Sequence[LabelledText], threshold: float | None = None) -> list[TextPrediction]:
        """Predictions with flags (P(positive) >= ``threshold``, default 0.5, is positive); an
        unparsed reply is labelled negative whatever the threshold (its P is a placeholder 0.5)."""
        answers = self._all([t.text for t in texts])
        p = np.asarray([a[0] for a in answers], dtype=np.float64).reshape(-1)
        probs = np.stack([1.0 - p, p], axis=1) if len(p) else np.zeros((0, 2))
        flags = [a[1] for a in answers]
        preds = to_predictions(texts, probs, self.config, threshold=threshold, flags=flags)
        neg = self.config.labels[0]
        return [
            TextPrediction(x.id, neg, x.probabilities, x.language, x.seen_language, x.flag)
            if x.flag == UNPARSED
            else x
            for x in preds
        ]
