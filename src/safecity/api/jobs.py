"""Background jobs: long work (a retrospective face search over thousands of snapshots) runs on a worker
thread, never in a request handler, so the API keeps answering everyone while it runs.

A job has an owner (the user who started it, the only one who sees or cancels it), a status (`queued`,
`running`, `done`, `failed`, `cancelled`), progress (`done` of `total` steps), and a result or an error. The
work function receives its `Job` and calls `job.step(done, total)` as it goes; `step` returns False once a
cancel was asked, and the work stops at its next step. Jobs are bounded: `MAX_PENDING_PER_OWNER` queued or
running per user (429 beyond) and the last `KEEP` finished ones kept for polling. Jobs live in the
process: a restart forgets them (what they did is in the audit log).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)
MAX_PENDING_PER_OWNER = 2
KEEP = 200
WORKERS = 2  # jobs at a time per node (a search runs in its own process; the thread waits on it)


class JobCancelled(Exception):
    """Raised by work that noticed its cancel request (after recording what it did so far)."""


class TooManyJobs(Exception):
    pass


@dataclass(eq=False)
class Job:
    id: str
    kind: str
    owner: int
    status: str = "queued"
    done: int = 0
    total: int = 0
    result: dict[str, Any] | None = None
    error: str | None = None
    created_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def step(self, done: int, total: int) -> bool:
        """Report progress; False when the work should stop (cancelled)."""
        self.done, self.total = done, total
        return not self._cancel.is_set()

    @property
    def pending(self) -> bool:
        return self.status in ("queued", "running")


class JobRunner:
    """See the module docstring. Thread-safe."""

    def __init__(self, workers: int = WORKERS, keep: int = KEEP) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="job")
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._keep = keep
        self._lock = threading.Lock()

    def submit(self, kind: str, owner: int, work: Callable[[Job], dict[str, Any]]) -> Job:
        with self._lock:
            pending = sum(1 for j in self._jobs.values() if j.owner == owner and j.pending)
            if pending >= MAX_PENDING_PER_OWNER:
                raise TooManyJobs(f"{pending} jobs of yours are still running: wait or cancel one")
            job = Job(uuid.uuid4().hex, kind, owner)
            self._jobs[job.id] = job
            self._forget_old()
        self._pool.submit(self._run, job, work)
        return job

    def _forget_old(self) -> None:
        finished = [j.id for j in self._jobs.values() if not j.pending]
        for job_id in finished[: max(0, len(finished) - self._keep)]:
            del self._jobs[job_id]

    def _run(self, job: Job, work: Callable[[Job], dict[str, Any]]) -> None:
        if job.cancel_requested:
            job.status, job.finished_at = "cancelled", time.time()
            return
        job.status = "running"
        try:
            job.result = work(job)
            job.status = "done"
        except JobCancelled:
            job.status = "cancelled"
        except Exception as exc:  # the job's error is its result; the server goes on
            job.status, job.error = "failed", str(exc) or type(exc).__name__
            if not isinstance(exc, ValueError | PermissionError | LookupError):
                log.exception("job %s (%s) failed", job.id, job.kind)
        finally:
            job.finished_at = time.time()

    def get(self, job_id: str, owner: int) -> Job | None:
        with self._lock:
            job = self._jobs.get(job_id)
        return job if job is not None and job.owner == owner else None

    def cancel(self, job_id: str, owner: int) -> Job | None:
        job = self.get(job_id, owner)
        if job is not None and job.pending:
            job._cancel.set()
        return job

    def close(self) -> None:
        for job in list(self._jobs.values()):
            job._cancel.set()
        self._pool.shutdown(wait=False, cancel_futures=True)


_runners: dict[int, JobRunner] = {}
_runners_lock = threading.Lock()


def job_runner(owner: object) -> JobRunner:
    """The runner of one node (keyed by an object that lives as long as it, such as its engine)."""
    with _runners_lock:
        return _runners.setdefault(id(owner), JobRunner())


def close_runner(owner: object) -> None:
    """Stop a node's jobs (cancel what runs, drop what waits) when its service stops."""
    with _runners_lock:
        runner = _runners.pop(id(owner), None)
    if runner is not None:
        runner.close()
