"""The simulator's files and fine-tuning endpoints, in the shapes the openai SDK parses.

    POST /v1/files                          multipart: file, purpose
    GET  /v1/files/{id}
    POST /v1/fine_tuning/jobs               model, training_file, validation_file, suffix,
                                            metadata
    GET  /v1/fine_tuning/jobs               ?limit, ?metadata[key]=value
    GET  /v1/fine_tuning/jobs/{id}          each read moves the job one step on
    GET  /v1/fine_tuning/jobs/{id}/events   newest first, ?limit
    POST /v1/fine_tuning/jobs/{id}/cancel
    GET  /sim/fine_tuning                   counts: files uploaded, jobs created, reads, ...

Nothing is trained. A job starts in validating_files; each GET of it after the first moves it
one step on before answering: validating_files -> queued -> running -> succeeded, so a poller
sees every status, and the latest event always describes the status it read. Its
fine_tuned_model is `ft:<base>:csc-sim:<suffix or job>:<id part>`, a name that says it is the
simulator's. Markers in the base model or the suffix choose another ending:

    "fail"  the job fails once running, with an error message saying it was asked to
    "hang"  the job stays running for ever (a poller's timeout, then its cancel, end it)

The training and validation files are checked when the job leaves validating_files: every
line must be a JSON object with a non-empty `messages` list of objects with a role and
content; otherwise the job fails with the first problem, its line number included. State is
in memory, per server.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

FAIL, HANG = "fail", "hang"
STEPS = ("validating_files", "queued", "running", "succeeded")
FINISHED = ("succeeded", "failed", "cancelled")
FAILED_ON_REQUEST = ("the simulated training failed on request: the base model or suffix "
                     "contains 'fail'")


def _error(status: int, message: str, code: str | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": "invalid_request_error",
                                   "param": None, "code": code}}, status_code=status)


def check_jsonl(data: bytes) -> str | None:
    """The first problem of a chat fine-tuning file, or None: each line a JSON object whose
    `messages` is a non-empty list of {role, content} objects."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "the file is not UTF-8 text"
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        return "the file holds no example"
    for n, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
        except ValueError:
            return f"line {n} is not JSON"
        messages = record.get("messages") if isinstance(record, dict) else None
        if not isinstance(messages, list) or not messages:
            return f"line {n} has no 'messages' list"
        if not all(isinstance(m, dict) and m.get("role") and isinstance(m.get("content"), str)
                   for m in messages):
            return f"line {n}: every message needs a role and a text content"
    return None


@dataclass
class SimJob:
    body: dict[str, Any]  # the fine_tuning.job object as served
    fate: str | None  # FAIL, HANG or None
    reads: int = 0  # GETs served: each after the first moves the job on first
    events: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class FineTuning:
    """Uploaded files and jobs of one server, with counts for the tests."""

    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    contents: dict[str, bytes] = field(default_factory=dict)
    jobs: dict[str, SimJob] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("files_uploaded", "jobs_created", "jobs_read", "events_read", "jobs_listed",
         "jobs_cancelled"), 0))
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def new_id(self, prefix: str) -> str:
        return f"{prefix}-sim{next(self._ids):06d}"

    def event(self, job: SimJob, message: str, level: str = "info") -> None:
        job.events.append({"id": self.new_id("ftevent"), "object": "fine_tuning.job.event",
                           "created_at": int(time.time()), "level": level,
                           "message": message, "type": "message", "data": None})

    def advance(self, job: SimJob) -> None:
        """One step on from the current status (at a read, unless it is the job's first)."""
        body = job.body
        status = body["status"]
        if status in FINISHED:
            return
        if status == "validating_files":
            problem = self.file_problem(body)
            if problem:
                return self.end(job, "failed", problem, "invalid_training_file")
        elif status == "running":
            if job.fate == HANG:
                return
            if job.fate == FAIL:
                return self.end(job, "failed", FAILED_ON_REQUEST, "sim_failure")
        nxt = STEPS[STEPS.index(status) + 1]
        if nxt == "succeeded":
            tail = body["suffix"] or "job"
            body["fine_tuned_model"] = f"ft:{body['model']}:csc-sim:{tail}:{body['id'][-6:]}"
            return self.end(job, nxt, f"simulated job finished: {body['fine_tuned_model']} "
                                      "(a stand-in, not a trained model)")
        body["status"] = nxt
        self.event(job, f"job is {nxt}")

    def file_problem(self, body: dict[str, Any]) -> str | None:
        for kind in ("training_file", "validation_file"):
            file_id = body.get(kind)
            if file_id:
                problem = check_jsonl(self.contents[file_id])
                if problem:
                    return f"{kind} {file_id} is invalid: {problem}"
        return None

    def end(self, job: SimJob, status: str, message: str, code: str | None = None) -> None:
        job.body["status"] = status
        job.body["finished_at"] = int(time.time())
        if status == "failed":
            job.body["error"] = {"code": code or "failed", "message": message, "param": None}
        failed = status == "failed"  # the event says so; the job's error holds the why
        self.event(job, f"job failed: {message}" if failed else message,
                   "error" if failed else "info")


def _state(request: Request) -> FineTuning:
    return request.app.state.fine_tuning


def _multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """Form fields of a multipart body: name -> (filename, bytes)."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    fields = {}
    if message.is_multipart():
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name:
                fields[str(name)] = (part.get_filename(), part.get_payload(decode=True) or b"")
    return fields


async def upload_file(request: Request) -> Response:
    state = _state(request)
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        return _error(400, "send the file as multipart/form-data")
    fields = _multipart(content_type, await request.body())
    if "file" not in fields:
        return _error(400, "'file' is required", "missing_file")
    purpose = fields.get("purpose", (None, b""))[1].decode()
    if purpose != "fine-tune":
        return _error(400, f"the simulator takes purpose 'fine-tune' only, not {purpose!r}")
    filename, data = fields["file"]
    file_id = state.new_id("file")
    state.contents[file_id] = data
    state.files[file_id] = {"id": file_id, "object": "file", "bytes": len(data),
                            "created_at": int(time.time()), "filename": filename or "upload",
                            "purpose": purpose, "status": "processed", "status_details": None}
    state.counts["files_uploaded"] += 1
    return JSONResponse(state.files[file_id])


async def get_file(request: Request) -> Response:
    found = _state(request).files.get(request.path_params["file_id"])
    if found is None:
        return _error(404, f"no file {request.path_params['file_id']}", "file_not_found")
    return JSONResponse(found)


def _fate(model: str, suffix: str | None) -> str | None:
    marked = f"{model} {suffix or ''}".lower()
    return FAIL if FAIL in marked else HANG if HANG in marked else None


async def create_job(request: Request) -> Response:
    state = _state(request)
    try:
        body = await request.json()
    except ValueError:
        return _error(400, "the request body is not JSON")
    model, training = body.get("model"), body.get("training_file")
    if not isinstance(model, str) or not model.strip():
        return _error(400, "'model' is required", "missing_model")
    for kind in ("training_file", "validation_file"):
        if body.get(kind) is not None and body[kind] not in state.files:
            return _error(400, f"{kind} {body[kind]} does not exist", "invalid_file")
    if not training:
        return _error(400, "'training_file' is required", "missing_training_file")
    job_id = state.new_id("ftjob")
    suffix = body.get("suffix")
    job = SimJob({"id": job_id, "object": "fine_tuning.job", "created_at": int(time.time()),
                  "model": model, "status": "validating_files", "fine_tuned_model": None,
                  "finished_at": None, "error": None, "organization_id": "org-csc-sim",
                  "training_file": training, "validation_file": body.get("validation_file"),
                  "result_files": [], "trained_tokens": None, "seed": 0,
                  "hyperparameters": {"n_epochs": "auto", "batch_size": "auto",
                                      "learning_rate_multiplier": "auto"},
                  "suffix": suffix, "metadata": body.get("metadata") or None,
                  "estimated_finish": None, "integrations": None},
                 _fate(model, suffix))
    state.event(job, f"created fine-tuning job {job_id} (simulated: nothing is trained)")
    state.jobs[job_id] = job
    state.counts["jobs_created"] += 1
    return JSONResponse(job.body)


def _job(request: Request) -> SimJob | None:
    return _state(request).jobs.get(request.path_params["job_id"])


def _no_job(request: Request) -> Response:
    return _error(404, f"no fine-tuning job {request.path_params['job_id']}", "job_not_found")


async def get_job(request: Request) -> Response:
    job = _job(request)
    if job is None:
        return _no_job(request)
    state = _state(request)
    state.counts["jobs_read"] += 1
    if job.reads:
        state.advance(job)
    job.reads += 1
    return JSONResponse(job.body)


def _limit(request: Request, default: int = 20) -> int:
    try:
        return max(1, int(request.query_params.get("limit", default)))
    except ValueError:
        return default


async def list_jobs(request: Request) -> Response:
    state = _state(request)
    state.counts["jobs_listed"] += 1
    wanted = {k[len("metadata["):-1]: v for k, v in request.query_params.items()
              if k.startswith("metadata[") and k.endswith("]")}
    found = [j.body for j in reversed(state.jobs.values())
             if all((j.body["metadata"] or {}).get(k) == v for k, v in wanted.items())]
    limit = _limit(request)
    return JSONResponse({"object": "list", "data": found[:limit],
                         "has_more": len(found) > limit})


async def job_events(request: Request) -> Response:
    job = _job(request)
    if job is None:
        return _no_job(request)
    _state(request).counts["events_read"] += 1
    newest = list(reversed(job.events))[:_limit(request)]
    return JSONResponse({"object": "list", "data": newest,
                         "has_more": len(job.events) > len(newest)})


async def cancel_job(request: Request) -> Response:
    job = _job(request)
    if job is None:
        return _no_job(request)
    if job.body["status"] in FINISHED:
        return _error(400, f"job {job.body['id']} is {job.body['status']} already",
                      "job_finished")
    state = _state(request)
    state.counts["jobs_cancelled"] += 1
    state.end(job, "cancelled", "job cancelled by the client")
    return JSONResponse(job.body)


async def counts(request: Request) -> Response:
    return JSONResponse(_state(request).counts)


ROUTES = [
    Route("/v1/files", upload_file, methods=["POST"]),
    Route("/v1/files/{file_id}", get_file, methods=["GET"]),
    Route("/v1/fine_tuning/jobs", create_job, methods=["POST"]),
    Route("/v1/fine_tuning/jobs", list_jobs, methods=["GET"]),
    Route("/v1/fine_tuning/jobs/{job_id}", get_job, methods=["GET"]),
    Route("/v1/fine_tuning/jobs/{job_id}/events", job_events, methods=["GET"]),
    Route("/v1/fine_tuning/jobs/{job_id}/cancel", cancel_job, methods=["POST"]),
    Route("/sim/fine_tuning", counts, methods=["GET"]),
]
