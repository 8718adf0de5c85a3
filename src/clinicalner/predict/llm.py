"""A zero-shot tagger behind any OpenAI-compatible chat endpoint (OpenAI, vLLM, llama.cpp, Ollama).

Three prompt styles, the two that clinical NER benchmarks use for generative models and DNT's:

- ``"html"`` (the M42 clinical NER leaderboard style): the model echoes the text with every
  mention wrapped in ``<span class="disease">...</span>``; one request per chunk.
- ``"list"`` (the UniversalNER conversation): "Text: ..." then "What describes <type> in the
  text?", answered with a JSON list of strings; one request per chunk and entity type.
- ``"tokens"`` (DNT, SMM4H-HeaRD 2026): the text as numbered tokens (our word splitter), the
  answer as ``<index> : <token> : <label>`` lines, one per token inside a mention; the index
  removes the ambiguity of repeated words, and runs of same-label tokens become spans (IO
  labelling). One request per chunk.

Replies are mapped back to exact offsets by :mod:`clinicalner.predict.llm_align`; mentions that
cannot be placed (the model invented or rewrote them) are counted in :attr:`LLMTagger.stats`,
never silently turned into wrong spans. Only the standard library talks HTTP, so the tagger adds
no dependency. Note text is never logged: only document ids, counts and HTTP status codes.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass

from clinicalner.document import Document, Span
from clinicalner.predict.lexicon import FoldedText, fold_term
from clinicalner.predict.llm_align import (
    OUTSIDE_LABELS,
    EchoAligner,
    find_occurrences,
    group_token_labels,
    nearest,
    needs_unescape,
    parse_html_spans,
    parse_list,
    parse_token_lines,
    place_token,
)

log = logging.getLogger(__name__)

PROMPTS = ("html", "list", "tokens")
RETRY_STATUS = frozenset({408, 409, 425, 429})

HTML_SYSTEM = "You are an expert annotator of clinical text for named-entity recognition."
HTML_USER = """Mark the entities in the clinical text below with HTML.

Entity types: {types}.
{definitions}
Rewrite the text exactly as it is, wrapping each entity mention in a span whose class is its \
type, for example <span class="{example}">...</span>. Do not change, add or remove any other \
character. Mark only the words of the mention. Answer with the marked-up text only, with no \
explanation. If the text mentions none of these types, answer with the text unchanged.

Text:
{text}"""

TOKENS_USER = """Label the entities in the clinical text below. Its tokens are numbered, one per line.

Entity types: {types}.
{definitions}
For every token that is part of an entity mention, write one line "<index> : <token> : <type>": \
the token's number, the token exactly as given, and its entity type. Give each token of a \
multi-token mention its own line with the same type. Write nothing for tokens outside \
entities and no other text. If the text has no entity, answer none.

Tokens:
{tokens}"""

LIST_SYSTEM = "A virtual assistant answers questions from a user based on the provided text."
LIST_ACK = "I've read this text."
LIST_QUESTION = "What describes {type} in the text?"


class LLMError(RuntimeError):
    """The endpoint failed for good: a client error, or retries used up."""


@dataclass
class LLMStats:
    """What happened while tagging, to judge how far the model's answers can be trusted.

    ``mentions`` counts mentions of known types the model returned (with the ``tokens``
    prompt: token lines, each placed or not); each is either
    ``matched`` (placed at one or more offsets) or ``unmatched``. ``unknown_labels`` counts
    mentions of a class outside the label map, ``malformed`` replies that could not be read,
    ``failed_chunks`` chunks given up after errors (with ``on_error="skip"``).
    """

    documents: int = 0
    chunks: int = 0
    requests: int = 0
    retries: int = 0
    failed_chunks: int = 0
    mentions: int = 0
    matched: int = 0
    unmatched: int = 0
    unknown_labels: int = 0
    malformed: int = 0
    spans: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class ChatClient:
    """POSTs chat completions, retrying with exponential backoff on 429, 5xx and network errors.

    The API key is read from the environment variable named ``api_key_env`` (never passed as
    a value, so it stays out of configs and logs); when the variable is unset no
    ``Authorization`` header is sent, which is what local servers expect.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str | None = "OPENAI_API_KEY",
        timeout: float = 120.0,
        max_retries: int = 4,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        extra_body: Mapping[str, object] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        base = base_url.rstrip("/")
        self.url = base if base.endswith("/chat/completions") else base + "/chat/completions"
        self.model = model
        self.api_key_env = api_key_env
        self._api_key = os.environ.get(api_key_env) if api_key_env else None
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.extra_body = dict(extra_body or {})
        self.sleep = sleep

    def __repr__(self) -> str:
        return f"ChatClient(url={self.url!r}, model={self.model!r}, api_key_env={self.api_key_env!r})"

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        delay = self.backoff * (2**attempt)
        if retry_after:
            with contextlib.suppress(ValueError):
                delay = max(delay, float(retry_after))
        return min(delay, self.max_backoff)

    def complete(self, messages: Sequence[Mapping[str, str]], **params: object) -> tuple[str, int]:
        """The reply's text and how many retries it took."""
        payload, attempt = self._post(messages, **params)
        return self._content(payload), attempt

    def complete_choice(
        self, messages: Sequence[Mapping[str, str]], **params: object
    ) -> tuple[dict[str, object], int]:
        """The reply's first choice as the server sent it (with ``logprobs`` when asked for them)
        and how many retries it took; the text classifier reads token log-probabilities there."""
        payload, attempt = self._post(messages, **params)
        try:
            choice = json.loads(payload)["choices"][0]
            if not isinstance(choice, dict) or not isinstance(choice.get("message"), dict):
                raise TypeError
        except (ValueError, KeyError, IndexError, TypeError):
            raise LLMError(f"{self.url} sent a reply that is not an OpenAI chat completion") from None
        return choice, attempt

    def _post(self, messages: Sequence[Mapping[str, str]], **params: object) -> tuple[bytes, int]:
        """POST one chat completion, retrying; the raw reply body and the retries it took."""
        body = {
            "model": self.model,
            "messages": list(messages),
            "temperature": 0,
            **self.extra_body,
            **params,
        }
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        attempt = 0
        while True:
            request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
            retry_after: str | None = None
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    payload = response.read()
                return payload, attempt
            except urllib.error.HTTPError as e:
                status = e.code
                retry_after = e.headers.get("Retry-After") if e.headers else None
                detail = self._error_detail(e)
                e.close()
                if status not in RETRY_STATUS and status < 500:
                    hint = (
                        f" (is {self.api_key_env} set?)" if status in (401, 403) and self.api_key_env else ""
                    )
                    raise LLMError(f"{self.url} answered HTTP {status}{detail}{hint}") from None
                problem = f"HTTP {status}{detail}"
            except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException) as e:
                reason = getattr(e, "reason", e)
                problem = f"{type(reason).__name__}: {reason}"
            if attempt >= self.max_retries:
                raise LLMError(f"{self.url}: giving up after {attempt + 1} attempts, last: {problem}")
            delay = self._delay(attempt, retry_after)
            log.warning(
                "%s: %s; retry %d/%d in %.1fs", self.url, problem, attempt + 1, self.max_retries, delay
            )
            self.sleep(delay)
            attempt += 1

    def _content(self, payload: bytes) -> str:
        try:
            reply = json.loads(payload)
            content = reply["choices"][0]["message"].get("content")
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise LLMError(f"{self.url} sent a reply that is not an OpenAI chat completion") from None
        return content or ""

    @staticmethod
    def _error_detail(error: urllib.error.HTTPError) -> str:
        """The server's error message, short: it explains 4xx (context too long, unknown model)."""
        try:
            reply = json.loads(error.read() or b"null")
            message = (
                reply["error"]["message"] if isinstance(reply.get("error"), dict) else reply.get("error")
            )
        except (ValueError, KeyError, TypeError, AttributeError, OSError):
            return ""
        return f": {str(message)[:200]}" if message else ""


# -- chunking -----------------------------------------------------------------------------


def _sentence_units(text: str, language: str | None) -> list[tuple[int, int]]:
    """Sentences, from the shared splitter (the same cuts the transformer taggers use)."""
    from clinicalner.text.sentences import sentence_spans

    return [(s, e) for s, e in sentence_spans(text, language) if e > s]


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def chunk_spans(text: str, max_chars: int = 2000, language: str | None = None) -> list[tuple[int, int]]:
    """Cut a text into ``[start, end)`` pieces of at most ``max_chars``, whole sentences where possible.

    Sentences are packed greedily; a sentence longer than the budget is cut at its last
    whitespace before the budget (or hard at the budget when there is none). Pieces never
    start or end with whitespace, and whitespace-only text gives no piece.
    """
    if max_chars < 1:
        raise ValueError("max_chars must be positive")
    chunks: list[tuple[int, int]] = []
    cur: tuple[int, int] | None = None
    for s, e in _sentence_units(text, language):
        s, e = _strip(text, s, e)
        if s >= e:
            continue
        if cur is not None and e - cur[0] <= max_chars:
            cur = (cur[0], e)
            continue
        if cur is not None:
            chunks.append(cur)
            cur = None
        while e - s > max_chars:
            cut = s + max_chars
            space = next((k for k in range(cut, s, -1) if text[k].isspace()), None)
            piece_end = space if space is not None else cut
            a, b = _strip(text, s, piece_end)
            if a < b:
                chunks.append((a, b))
            s, e = _strip(text, piece_end, e)
        if s < e:
            cur = (s, e)
    if cur is not None:
        chunks.append(cur)
    return chunks


# -- the tagger ---------------------------------------------------------------------------


def _longest_first(spans: list[Span]) -> list[Span]:
    """Drop same-label spans overlapping a longer one (a reply lists ``dolor`` and ``dolor torácico``)."""
    kept: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start - s.end, s.start)):
        if not any(k.label == span.label and k.overlaps(span) for k in kept):
            kept.append(span)
    return kept


class LLMTagger:
    """Tags documents by prompting a chat model; implements :class:`~clinicalner.predict.tagger.Tagger`.

    ``label_map`` maps the lower-case class names the model sees and writes to our labels
    (``{"disease": "DISEASE", "disorder": "DISEASE"}``); by default each label's lower case.
    Every class name is accepted in replies, but only the first one per label is put in the
    prompt, so synonyms catch a model that renames a type. ``descriptions`` (class -> one-line
    definition) go into the HTML prompt. ``concurrency`` sends that many requests at once,
    across chunks and documents (a local vLLM server batches them).
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        labels: Sequence[str] | None = None,
        *,
        prompt: str = "html",
        label_map: Mapping[str, str] | None = None,
        descriptions: Mapping[str, str] | None = None,
        api_key_env: str | None = "OPENAI_API_KEY",
        max_chars: int = 2000,
        timeout: float = 120.0,
        max_retries: int = 4,
        backoff: float = 1.0,
        max_tokens: int | None = None,
        concurrency: int = 1,
        on_error: str = "raise",
        system_prompt: str | None = None,
        list_hint: str | None = None,
        extra_body: Mapping[str, object] | None = None,
        name: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if prompt not in PROMPTS:
            raise ValueError(f"prompt must be one of {PROMPTS}, not {prompt!r}")
        if on_error not in ("raise", "skip"):
            raise ValueError("on_error must be 'raise' or 'skip'")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if label_map is None:
            if not labels:
                raise ValueError("give labels or a label_map")
            label_map = {label.lower(): label for label in labels}
        self.label_map = {cls.strip().lower(): label for cls, label in label_map.items()}
        if not self.label_map:
            raise ValueError("label_map is empty")
        wanted = tuple(dict.fromkeys(labels)) if labels else tuple(dict.fromkeys(self.label_map.values()))
        missing = [label for label in wanted if label not in self.label_map.values()]
        if missing:
            raise ValueError(f"no class name maps to label(s) {missing}")
        self.labels: tuple[str, ...] = wanted
        # The class put in the prompt for each label: the first one mapping to it.
        self.classes: tuple[str, ...] = tuple(
            next(cls for cls, label in self.label_map.items() if label == wanted_label)
            for wanted_label in wanted
        )
        self.prompt = prompt
        self.descriptions = {k.strip().lower(): v for k, v in (descriptions or {}).items()}
        self.max_chars = max_chars
        self.max_tokens = max_tokens
        self.concurrency = concurrency
        self.on_error = on_error
        self.system_prompt = system_prompt
        self.list_hint = list_hint
        self.name = name or f"llm:{model}"
        self.client = ChatClient(
            base_url,
            model,
            api_key_env=api_key_env,
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
            extra_body=extra_body,
            sleep=sleep,
        )
        self.stats = LLMStats()
        self._lock = threading.Lock()

    # -- prompts --------------------------------------------------------------------------

    def html_messages(self, text: str) -> list[dict[str, str]]:
        definitions = "".join(
            f"- {cls}: {self.descriptions[cls]}\n" for cls in self.classes if cls in self.descriptions
        )
        user = HTML_USER.format(
            types=", ".join(self.classes),
            definitions=definitions,
            example=self.classes[0],
            text=text,
        )
        return [
            {"role": "system", "content": self.system_prompt or HTML_SYSTEM},
            {"role": "user", "content": user},
        ]

    def token_messages(self, words: Sequence[str]) -> list[dict[str, str]]:
        """DNT's prompt: the chunk as ``<index> : <token>`` lines, numbered from 1."""
        definitions = "".join(
            f"- {cls}: {self.descriptions[cls]}\n" for cls in self.classes if cls in self.descriptions
        )
        user = TOKENS_USER.format(
            types=", ".join(self.classes),
            definitions=definitions,
            tokens="\n".join(f"{k} : {w}" for k, w in enumerate(words, 1)),
        )
        return [
            {"role": "system", "content": self.system_prompt or HTML_SYSTEM},
            {"role": "user", "content": user},
        ]

    def list_messages(self, text: str, cls: str) -> list[dict[str, str]]:
        question = LIST_QUESTION.format(type=cls)
        if self.list_hint:
            question = f"{question} {self.list_hint}"
        return [
            {"role": "system", "content": self.system_prompt or LIST_SYSTEM},
            {"role": "user", "content": f"Text: {text}"},
            {"role": "assistant", "content": LIST_ACK},
            {"role": "user", "content": question},
        ]

    # -- one request ----------------------------------------------------------------------

    def _ask(self, messages: list[dict[str, str]]) -> str:
        params: dict[str, object] = {}
        if self.max_tokens is not None:
            params["max_tokens"] = self.max_tokens
        content, retries = self.client.complete(messages, **params)
        with self._lock:
            self.stats.requests += 1 + retries
            self.stats.retries += retries
        return content

    def _count(self, **deltas: int) -> None:
        with self._lock:
            for key, value in deltas.items():
                setattr(self.stats, key, getattr(self.stats, key) + value)

    def _html_chunk(self, text: str) -> list[Span]:
        content = self._ask(self.html_messages(text))
        echo, mentions = parse_html_spans(content, unescape=needs_unescape(text))
        aligner = EchoAligner(text, echo)
        spans: list[Span] = []
        matched = unmatched = unknown = 0
        folded: FoldedText | None = None
        for m in mentions:
            label = self.label_map.get(m.cls)
            if label is None:
                unknown += 1
                continue
            where = aligner.map_range(m.start, m.end)
            if where is None:
                folded = folded or FoldedText.fold(text)
                expected = m.start * len(text) / max(len(echo), 1)
                where = nearest(find_occurrences(text, m.text, folded), expected)
            if where is None:
                unmatched += 1
                continue
            matched += 1
            spans.append(Span(where[0], where[1], label, text[where[0] : where[1]]))
        self._count(
            mentions=matched + unmatched, matched=matched, unmatched=unmatched, unknown_labels=unknown
        )
        return spans

    def _list_chunk(self, text: str, cls: str) -> list[Span]:
        content = self._ask(self.list_messages(text, cls))
        items = parse_list(content)
        if items is None:
            self._count(malformed=1)
            return []
        label = self.label_map[cls]
        folded = FoldedText.fold(text)
        spans: list[Span] = []
        seen: set[str] = set()
        matched = unmatched = 0
        for item in items:
            key = fold_term(item)
            if not key or key in seen:
                continue
            seen.add(key)
            found = find_occurrences(text, item, folded)
            if not found:
                unmatched += 1
                continue
            matched += 1
            spans.extend(Span(a, b, label, text[a:b]) for a, b in found)
        self._count(mentions=matched + unmatched, matched=matched, unmatched=unmatched)
        return spans

    def _token_chunk(self, text: str) -> list[Span]:
        from clinicalner.text.words import word_spans

        offsets = word_spans(text)
        words = [text[a:b] for a, b in offsets]
        rows = parse_token_lines(self._ask(self.token_messages(words)))
        if rows is None:
            self._count(malformed=1)
            return []
        labelled: dict[int, str] = {}
        matched = unmatched = unknown = 0
        for index, token, cls in rows:
            if cls in OUTSIDE_LABELS:
                continue
            label = self.label_map.get(cls)
            if label is None:
                unknown += 1
                continue
            where = place_token(words, index - 1, token)
            if where is None:
                unmatched += 1
                continue
            matched += 1
            labelled[where] = label
        spans = [
            Span(offsets[a][0], offsets[b][1], label, text[offsets[a][0] : offsets[b][1]])
            for a, b, label in group_token_labels(labelled)
        ]
        self._count(
            mentions=matched + unmatched, matched=matched, unmatched=unmatched, unknown_labels=unknown
        )
        return spans

    def _run_job(self, doc_id: str, chunk_index: int, text: str, cls: str | None) -> list[Span] | None:
        try:
            if cls is None:
                return self._token_chunk(text) if self.prompt == "tokens" else self._html_chunk(text)
            return self._list_chunk(text, cls)
        except LLMError as e:
            if self.on_error == "raise":
                raise LLMError(f"document {doc_id!r}, chunk {chunk_index}: {e}") from e
            log.warning("document %r, chunk %d skipped: %s", doc_id, chunk_index, e)
            return None

    # -- tagging --------------------------------------------------------------------------

    def _jobs(self, text: str, language: str | None) -> tuple[int, list[tuple[int, int, int, str | None]]]:
        """The chunks of a text and its requests: (chunk, start, end, class or None for HTML)."""
        chunks = chunk_spans(text, self.max_chars, language)
        classes: list[str | None] = [None] if self.prompt in ("html", "tokens") else list(self.classes)
        self._count(chunks=len(chunks))
        return len(chunks), [(k, start, end, cls) for k, (start, end) in enumerate(chunks) for cls in classes]

    def _run(
        self, doc_id: str, text: str, job: tuple[int, int, int, str | None]
    ) -> tuple[int, int, list[Span] | None]:
        k, start, end, cls = job
        return k, start, self._run_job(doc_id, k, text[start:end], cls)

    def _merge(
        self, doc_id: str, n_chunks: int, results: Iterable[tuple[int, int, list[Span] | None]]
    ) -> list[Span]:
        """One text's spans from its chunks' answers, shifted back to text offsets."""
        failed: set[int] = set()
        spans: list[Span] = []
        for k, start, found in results:
            if found is None:
                failed.add(k)
                continue
            spans.extend(Span(s.start + start, s.end + start, s.label, s.text) for s in found)
        spans = _longest_first(list({s.key: s for s in spans}.values()))
        spans.sort(key=lambda s: (s.start, s.end, s.label))
        self._count(failed_chunks=len(failed), spans=len(spans))
        log.debug("document %r: %d chunks, %d spans", doc_id, n_chunks, len(spans))
        return spans

    def find(self, text: str, doc_id: str = "<text>", language: str | None = None) -> list[Span]:
        """The spans of one text (chunked, prompted, aligned, shifted back to text offsets)."""
        n_chunks, jobs = self._jobs(text, language)
        if self.concurrency > 1 and len(jobs) > 1:
            with ThreadPoolExecutor(max_workers=min(self.concurrency, len(jobs))) as pool:
                results = list(pool.map(lambda job: self._run(doc_id, text, job), jobs))
        else:
            results = [self._run(doc_id, text, job) for job in jobs]
        return self._merge(doc_id, n_chunks, results)

    def tag(self, documents: Iterable[Document]) -> Iterator[Document]:
        """Tag documents in order. With ``concurrency > 1`` the requests of the next documents
        are sent while earlier ones are still answered (most notes are one chunk: parallel
        requests within a document alone would leave the server idle); at most
        ``4 * concurrency`` documents are in flight, so memory stays bounded."""
        if self.concurrency == 1:
            for doc in documents:
                spans = self.find(doc.text, doc.id, doc.language)
                self._count(documents=1)
                yield doc.with_spans(spans)
            return
        window = 4 * self.concurrency
        pool = ThreadPoolExecutor(max_workers=self.concurrency)
        pending: deque[tuple[Document, int, list[Future[tuple[int, int, list[Span] | None]]]]] = deque()

        def finish() -> Document:
            doc, n_chunks, futures = pending.popleft()
            spans = self._merge(doc.id, n_chunks, [f.result() for f in futures])
            self._count(documents=1)
            return doc.with_spans(spans)

        try:
            for doc in documents:
                n_chunks, jobs = self._jobs(doc.text, doc.language)
                futures = [pool.submit(self._run, doc.id, doc.text, job) for job in jobs]
                pending.append((doc, n_chunks, futures))
                while len(pending) >= window or (pending and all(f.done() for f in pending[0][2])):
                    yield finish()
            while pending:
                yield finish()
        finally:
            # An error (on_error="raise") or a consumer that stops early: no more requests.
            pool.shutdown(wait=True, cancel_futures=True)
