"""The routes of the REST service, and nothing else: limits, batching and security live in
their own modules; tagging is :class:`~clinicalner.serve.service.TaggingService`.

Every answer to bad input is a 4xx naming what is wrong (the field, the limit, the label),
never a 500, and no answer or log line carries note text beyond the spans asked for.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from clinicalner.document import Document
from clinicalner.serve.batcher import Overloaded
from clinicalner.serve.middleware import AccessLogMiddleware, BodyGuardMiddleware
from clinicalner.serve.schemas import (
    BatchRequest,
    BatchResponse,
    ErrorResponse,
    SpanOut,
    TagRequest,
    TagResponse,
)
from clinicalner.serve.security import bearer_matches
from clinicalner.serve.service import TaggingService

STATIC = Path(__file__).parent / "static"

_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorResponse} for code in (401, 413, 422, 503)}


def create_app(service: TaggingService, info: dict[str, Any]) -> FastAPI:
    """The FastAPI app serving ``service``; ``info`` is what ``GET /v1/model`` answers."""
    settings = service.settings

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        service.close()  # after uvicorn has finished the requests in flight

    app = FastAPI(
        title="clinicalner",
        summary="Clinical named-entity recognition: exact character spans for clinical notes.",
        version=str(info.get("version", "")),
        lifespan=lifespan,
    )
    app.state.service = service
    app.add_middleware(BodyGuardMiddleware, limit=settings.max_body_bytes)
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
        )
    app.add_middleware(
        AccessLogMiddleware
    )  # outermost: logs every answer (413s too), turns crashes into 500s
    model_ref = {"name": info["name"], "kind": info["kind"]}

    def authorised(request: Request) -> None:
        if settings.api_key is None:
            return
        if not bearer_matches(request.headers.get("authorization"), settings.api_key):
            raise HTTPException(
                401,
                "missing or wrong API key (Authorization: Bearer KEY)",
                headers={"WWW-Authenticate": "Bearer"},
            )

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        # The input itself is left out: it may be a whole note.
        detail = [
            {
                "loc": [str(x) if not isinstance(x, int) else x for x in e.get("loc", ())],
                "msg": _message(e),
                "type": e.get("type", ""),
            }
            for e in exc.errors()
        ]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(Overloaded)
    async def overloaded(_: Request, exc: Overloaded) -> JSONResponse:
        return JSONResponse(
            {"detail": f"busy: {exc}; retry shortly"}, status_code=503, headers={"Retry-After": "1"}
        )

    def check(doc: TagRequest, where: list[str | int]) -> None:
        if len(doc.text) > settings.max_chars:
            raise HTTPException(
                413,
                f"{'.'.join(map(str, where))}.text has {len(doc.text)} characters, over the "
                f"limit of {settings.max_chars} (max_chars)",
            )
        unknown = sorted(set(doc.labels or ()) - set(service.labels))
        if unknown:
            raise RequestValidationError(
                [
                    {
                        "loc": [*where, "labels"],
                        "msg": f"unknown label(s) {', '.join(unknown)}; the model "
                        f"tags {', '.join(service.labels)}",
                        "type": "unknown_label",
                    }
                ]
            )

    async def tag_all(docs: list[TagRequest], ids: list[str]) -> list[TagResponse]:
        documents = [Document(i, d.text, language=d.language) for i, d in zip(ids, docs, strict=True)]
        found = await service.tag(documents)
        out = []
        for i, d, spans in zip(ids, docs, found, strict=True):
            wanted = set(d.labels) if d.labels else None
            out.append(
                TagResponse(
                    id=i,
                    spans=[
                        SpanOut(start=s.start, end=s.end, label=s.label, text=s.text, score=s.score)
                        for s in spans
                        if wanted is None or s.label in wanted
                    ],
                    model=model_ref,
                )
            )
        return out

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/health", summary="The process is up.")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "auth": settings.api_key is not None}

    @app.get("/ready", summary="The model is loaded and the queue has room.", responses=_ERRORS)
    async def ready() -> JSONResponse:
        waiting = service.batcher.waiting
        ok = waiting < service.batcher.max_queue
        return JSONResponse({"ready": ok, "waiting": waiting}, status_code=200 if ok else 503)

    @app.get(
        "/v1/model",
        summary="What the loaded tagger is.",
        dependencies=[Depends(authorised)],
        responses=_ERRORS,
    )
    async def model() -> dict[str, Any]:
        return {**info, "limits": {"max_chars": settings.max_chars, "max_batch": settings.max_batch}}

    @app.post(
        "/v1/tag",
        response_model=TagResponse,
        summary="Tag one note.",
        dependencies=[Depends(authorised)],
        responses=_ERRORS,
    )
    async def tag(body: TagRequest) -> TagResponse:
        check(body, ["body"])
        (answer,) = await tag_all([body], [body.id or uuid.uuid4().hex])
        return answer

    @app.post(
        "/v1/tag/batch",
        response_model=BatchResponse,
        summary="Tag several notes together.",
        dependencies=[Depends(authorised)],
        responses=_ERRORS,
    )
    async def tag_batch(body: BatchRequest) -> BatchResponse:
        if len(body.documents) > settings.max_batch:
            raise HTTPException(
                413,
                f"body.documents has {len(body.documents)} documents, over the "
                f"limit of {settings.max_batch} (max_batch)",
            )
        for k, d in enumerate(body.documents):
            check(d, ["body", "documents", k])
        ids = [d.id or str(k) for k, d in enumerate(body.documents)]
        return BatchResponse(documents=await tag_all(body.documents, ids), model=model_ref)

    return app


def _message(error: dict[str, Any]) -> str:
    """A validation error's message, with the JSON parser's reason when the body is not JSON."""
    msg = str(error.get("msg", ""))
    reason = (error.get("ctx") or {}).get("error")
    return f"{msg}: {reason}" if error.get("type") == "json_invalid" and reason else msg
