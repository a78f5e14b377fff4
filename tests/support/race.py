"""Start-up races between processes: run several at once and collect what each returned."""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable, Sequence
from typing import Any


def _run(target: Callable[[], str], barrier: Any, out: Any) -> None:
    barrier.wait()  # released together, to make the race as tight as processes allow
    try:
        out.put(target())
    except Exception as exc:  # reported to the test
        out.put(f"error: {type(exc).__name__}: {exc}"[:300])


def at_once(targets: Sequence[Callable[[], str]], timeout_s: float = 300) -> list[str]:
    """Run each target in a forked process, all released by one barrier; their results (in finishing
    order), an exception as `error: <type>: <message>`."""
    ctx = mp.get_context("fork")  # fork: targets may be closures
    barrier, out = ctx.Barrier(len(targets)), ctx.Queue()
    procs = [ctx.Process(target=_run, args=(t, barrier, out)) for t in targets]
    for p in procs:
        p.start()
    results = [out.get(timeout=timeout_s) for _ in procs]
    for p in procs:
        p.join(30)
    return results
