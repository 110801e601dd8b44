"""The feedback API: items are validated against the canonical model and written (fsynced) to
the intake log beside the warehouse before the answer goes out, so an item that got a 200 is
never lost.

The service never holds the warehouse while it waits for clients: a loader moves the log into the
warehouse a moment later in short transactions, scores the items and puts them in the stored
themes (loader.py), so every other command can use the warehouse while the service runs.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import ValidationError

from patron import __version__
from patron.api.keys import KeyRing
from patron.api.limits import RateLimits
from patron.api.loader import IntakeLoader
from patron.api.models import MAX_FIELD, MAX_TEXT, FeedbackItem, too_far_ahead_field
from patron.errors import PatronError
from patron.ingest.intake_log import FolderLock, LogWriter, log_folder
from patron.model import EARLIEST, too_far_ahead
from patron.warehouse import open_warehouse

MAX_BATCH = 1_000  # items per request
MAX_BODY = 8 * 2**20  # bytes per request: a full batch of ordinary items takes about 0.3 MiB
MAX_ERRORS_PER_ITEM = 10  # problems listed for one item
MAX_ERRORS = 1_000  # problems listed for one request (one per item of a full batch)


def _key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("x-api-key")


async def _body(request: Request) -> bytes | None:
    """The body, or None past MAX_BODY: read in chunks, so a huge body is refused before it is held."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _too_many(why: str, wait: int) -> JSONResponse:
    return JSONResponse({"detail": f"{why}; retry after {wait} s"}, status_code=429,
                        headers={"Retry-After": str(wait)})


def _errors(index: int | None, e: ValidationError) -> list[dict]:
    return [{"index": index, "field": ".".join(str(x) for x in err["loc"]) or "(item)",
             "message": err["msg"].removeprefix("Value error, ")}
            for err in e.errors()]


def create_app(db: Path, lock: FolderLock | None = None, cors_origins: Sequence[str] = (),
               openapi: bool = False, requests_per_second: float = 50, items_per_minute: int = 60_000,
               docs: bool = False, future_tolerance_days: int = 1) -> FastAPI:
    """The service for the warehouse file `db` (opened only while the loader loads); `lock` is
    its intake log's, when the caller took it already (to refuse a second service up front).
    Pages of `cors_origins` may call it from a browser; `openapi` serves its schema and `docs` a
    reference page of patron's own (FastAPI's load their scripts from a CDN). Items dated more
    than `future_tolerance_days` ahead are refused, as file loads refuse them."""
    with open_warehouse(db) as wh:
        keys = KeyRing(wh)
    folder = log_folder(db)
    limits = RateLimits(requests_per_second, items_per_minute)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.writer = writer = LogWriter(folder, "feedback", lock or FolderLock(folder))
        app.state.loader = loader = IntakeLoader(db, folder, "feedback", source="api", keys=keys)
        try:
            yield
        finally:
            writer.close()  # what is queued is written to the log before the process ends
            loader.close()  # and loaded into the warehouse and scored, if it is free in time

    app = FastAPI(title="patron", version=__version__, docs_url=None, redoc_url=None,
                  openapi_url="/api/openapi.json" if openapi else None, lifespan=lifespan)
    if cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(cors_origins), allow_methods=["POST"],
                           allow_headers=["Authorization", "Content-Type", "X-API-Key"], max_age=600)
    app.state.keys = len(keys)

    @app.exception_handler(PatronError)
    async def patron_error(request: Request, e: PatronError) -> JSONResponse:
        """What the CLI prints as one line, a client gets as one JSON answer: the service cannot
        take items now (its log folder, its disk), so a retry later may succeed."""
        return JSONResponse({"detail": str(e)}, status_code=503, headers={"Retry-After": "30"})

    @app.get("/api/health")
    def health() -> dict:
        """Answers {"status": "ok"} while the service runs; nothing else (no key needed)."""
        return {"status": "ok"}

    item_schema = FeedbackItem.model_json_schema()
    body_schema = {"description": f"A feedback item, or a list of at most {MAX_BATCH:,} of them.",
                   "oneOf": [item_schema, {"type": "array", "items": item_schema, "maxItems": MAX_BATCH}]}

    @app.post("/api/feedback", openapi_extra={"requestBody": {"required": True, "content": {
                  "application/json": {"schema": body_schema}}}},
              responses={401: {"description": "no key, or a wrong one"},
                         413: {"description": f"the body is over {MAX_BODY // 2**20} MiB or holds more than "
                                              f"{MAX_BATCH:,} items"},
                         422: {"description": "an item or the body is not valid; the valid items of a batch "
                                              "are stored"},
                         429: {"description": "the key sent too much; Retry-After says when to try again"}})
    async def feedback(request: Request) -> JSONResponse:
        """One feedback item (an object) or a batch (an array). Good items are stored even when
        others in the batch are not; each bad one is named with its index and field."""
        source = keys.name_of(_key(request))
        if source is None:
            return JSONResponse({"detail": "an API key is needed: `Authorization: Bearer KEY` or `X-API-Key: KEY` "
                                           "(create one with `patron keys create NAME`)"}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        if wait := limits.request(source):
            return _too_many(f"key {source!r} sent more than {requests_per_second:g} requests a second", wait)
        raw_body = await _body(request)
        if raw_body is None:
            return JSONResponse({"detail": f"the body is larger than {MAX_BODY // 2**20} MiB; send smaller batches"},
                                status_code=413)
        try:
            body = json.loads(raw_body)
        except ValueError as e:  # not JSON, not UTF-8, or a number too long to read
            return JSONResponse({"detail": f"the body is not JSON: {e}"}, status_code=422)
        except RecursionError:
            return JSONResponse({"detail": "the body is not an item or a list of items: it is nested too deeply"},
                                status_code=422)
        batch = body if isinstance(body, list) else [body]
        if not batch:
            return JSONResponse({"detail": "the batch is empty"}, status_code=422)
        if len(batch) > MAX_BATCH:
            return JSONResponse({"detail": f"at most {MAX_BATCH:,} items per request, not {len(batch):,}"},
                                status_code=413)
        if wait := limits.items(source, len(batch)):
            return _too_many(f"key {source!r} sent more than {items_per_minute:,} items a minute", wait)
        good, errors = [], []
        now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        for i, raw in enumerate(batch):
            if not isinstance(raw, dict):
                errors.append({"index": i, "field": "(item)", "message": "an item is a JSON object"})
                continue
            if len(raw) > len(FeedbackItem.model_fields):  # refused before any work is spent on it
                unknown = [k for k in raw if k not in FeedbackItem.model_fields]
                errors.append({"index": i, "field": "(item)", "message": f"{len(unknown):,} unknown fields, e.g. "
                               f"{str(unknown[0])[:40]!r}; an item has at most {len(FeedbackItem.model_fields)}"})
                continue
            try:
                model = FeedbackItem.model_validate(raw)
            except ValidationError as e:
                errors += _errors(i, e)[:MAX_ERRORS_PER_ITEM]
                continue
            if ahead := too_far_ahead_field("feedback", model, now, future_tolerance_days):
                errors.append({"index": i, "field": ahead, "message": too_far_ahead(future_tolerance_days)})
                continue
            item = model.model_dump(mode="json")  # the log is JSON; the loader casts back to the canonical types
            item["feedback_id"] = item["feedback_id"] or f"api-{uuid.uuid4().hex}"
            item["received_at"] = item["received_at"] or now.isoformat()
            good.append(item)
        stored = duplicates = []
        if good:
            result = await asyncio.wrap_future(request.app.state.writer.submit(good, f"api:{source}"))  # on disk
            request.app.state.loader.notify()
            stored, duplicates = result.stored, result.duplicates
        rejected = len({e["index"] for e in errors})
        if len(errors) > MAX_ERRORS:  # an answer stays small whatever was sent
            errors = [*errors[:MAX_ERRORS], {"index": None, "field": "(request)",
                                             "message": f"{len(errors) - MAX_ERRORS:,} more problems not listed"}]
        answer = {"stored": len(stored), "duplicates": len(duplicates), "rejected": rejected,
                  "ids": stored, "already_stored": duplicates, "errors": errors}
        return JSONResponse(answer, status_code=422 if errors else 200)

    if docs:
        from patron.api.docs import CSP, docs_page

        notes = [f"At most {MAX_BODY // 2**20} MiB and {MAX_BATCH:,} items a request.",
                 f"Each key may send {requests_per_second:g} requests a second and {items_per_minute:,} items "
                 "a minute; past that the answer is 429 with Retry-After.",
                 f"Dates from {EARLIEST.year} up to {future_tolerance_days} "
                 f"day{'s' if future_tolerance_days != 1 else ''} ahead; free text up to {MAX_TEXT:,} characters, "
                 f"other fields up to {MAX_FIELD:,}."]

        @app.get("/api/docs", include_in_schema=False)
        def reference() -> HTMLResponse:
            return HTMLResponse(docs_page(app.openapi(), notes), headers={"Content-Security-Policy": CSP})

    return app

