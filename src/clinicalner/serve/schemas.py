"""Request and response bodies of the REST API (pydantic models, shown at ``/docs``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class TagRequest(BaseModel):
    """One note to tag."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(
        description="The note text; offsets in the answer are Python character offsets into it."
    )
    language: str | None = Field(None, description="ISO 639-1 code (es, en, nl, it, ro, sv, cs), if known.")
    labels: list[str] | None = Field(None, description="Only spans of these labels (default: all).")
    id: str | None = Field(None, description="Echoed back; the service makes one up when absent.")


class BatchRequest(BaseModel):
    """Several notes tagged together."""

    model_config = ConfigDict(extra="forbid")

    documents: list[TagRequest]


class SpanOut(BaseModel):
    start: int = Field(description="Start character offset (inclusive).")
    end: int = Field(description="End character offset (exclusive).")
    label: str
    text: str = Field(description="text[start:end]")
    score: float | None = Field(None, description="The tagger's confidence, when it has one.")


class TagResponse(BaseModel):
    id: str
    spans: list[SpanOut]
    model: dict[str, Any] = Field(description="name and kind of the tagger that answered")


class BatchResponse(BaseModel):
    documents: list[TagResponse]
    model: dict[str, Any]


class ErrorDetail(BaseModel):
    loc: list[str | int] = Field(description="Where in the body: e.g. ['body', 'documents', 0, 'text'].")
    msg: str
    type: str


class ErrorResponse(BaseModel):
    detail: str | list[ErrorDetail]
