"""Smoke tests spread over many devices: local devices in parallel (``--devices``)
or the nodes of an existing Ray cluster (``--ray``).

Either way each model still runs through ``smoke.smoke_one`` (pull, verify, its
own isolated child) and only the driver writes the catalog: the executors yield
``(plan, outcome, verification)`` as each model finishes, and the command
records each one as it arrives. Workers never see catalog credentials.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterator

from .errors import InvalidInput
from .smoke import SmokeOutcome, _now

log = logging.getLogger(__name__)

Result = tuple[Any, SmokeOutcome, Any]  # plan, outcome, verification (or None)


# --- local devices ---------------------------------------------------------------


def parse_devices(spec: str) -> list[str]:
    """``cuda:0,cuda:1``, ``all`` (every CUDA device), or CPU stand-ins (``cpu,cpu``)."""
    from .smoke import resolve_device

    spec = spec.strip()
    if spec == "all":
        resolve_device(True, None)  # exit 2 without CUDA
        import torch

        return [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    devices = [d.strip() for d in spec.split(",") if d.strip()]
    if not devices:
        raise InvalidInput("--devices needs a list such as cuda:0,cuda:1 (or all)")
    for d in devices:
        if d == "cuda" or not (d == "cpu" or d.startswith("cuda:")):
            raise InvalidInput(f"--devices: {d!r} is not a device", hint="name each one: cuda:0,cuda:1 (or cpu)")
        resolve_device(False, d)
    return devices


def run_on_devices(plans: list[Any], devices: list[str], *, dtype: str, trust_remote_code: bool, timeout: float,
                   fetch: Callable[[Any], Path], verify: Callable[[Any], Any]) -> Iterator[Result]:
    """One worker thread per device, each taking the next model and running it in its
    own child on its device; results come back in the order they finish."""
    from .smoke import Runner, smoke_one

    todo: queue.Queue[Any] = queue.Queue()
    for p in plans:
        todo.put(p)
    done: queue.Queue[Result | BaseException] = queue.Queue()
    runner = Runner(timeout, plans)
    stop = threading.Event()

    def work(device: str) -> None:
        while not stop.is_set():
            try:
                p = todo.get_nowait()
            except queue.Empty:
                return
            try:
                outcome, check = smoke_one(p, device=device, dtype=dtype, trust_remote_code=trust_remote_code,
                                           runner=runner, fetch=fetch, verify=verify)
                done.put((p, outcome, check))
            except BaseException as exc:  # noqa: BLE001 - this model's failure, recorded; the rest go on
                done.put((p, SmokeOutcome(model=p.name, status="failed", revision=p.revision, device=device,
                                          reason=f"{type(exc).__name__}: {str(exc)[:300]}"), None))

    threads = [threading.Thread(target=work, args=(d,), name=f"smoke-{d}", daemon=True) for d in devices]
    for t in threads:
        t.start()
    try:
        for _ in plans:
            item = done.get()
            yield item  # type: ignore[misc]
    finally:
        stop.set()  # Ctrl-C: no new model starts; the running children end with their timeout


# --- Ray ----------------------------------------------------------------------------

RETRIES = 1  # infrastructure failures only (a worker or node that died); a model's failure is an outcome
_INFRA = ("WorkerCrashedError", "NodeDiedError", "ObjectLostError", "OwnerDiedError", "OutOfMemoryError",
          "RaySystemError", "LocalRayletDiedError", "ActorDiedError", "ObjectFetchTimedOutError")


def memory_estimate(plan: Any) -> int:
    """Bytes a model's task reserves on a node: its selected weights twice over (read and
    loaded) plus a runtime allowance."""
    keep = set(plan.selection()[0])
    weights = sum(f["size"] or 0 for f in plan.files if f["path"] in keep)
    return 2 * weights + 1024**3


def _node_ip(address: str | None) -> str | None:
    """A loopback address given as the cluster address is also the driver's own: Ray
    would otherwise pick this machine's outward interface."""
    if not address or address in ("auto", "local") or address.startswith("ray://"):
        return None
    host = address.rsplit(":", 1)[0]
    return host if host.startswith("127.") else None


def _smoke_task(plan: Any, device: str, dtype: str, trust_remote_code: bool, timeout: float) -> dict[str, Any]:
    """On a Ray worker: pull into that node's Hub cache, verify, run in an isolated child."""
    import ray

    from .smoke import Runner, smoke_one
    from .weights import pull, verify

    global _WORKER_RUNNER
    if _WORKER_RUNNER is None or _WORKER_RUNNER.timeout != timeout:
        _WORKER_RUNNER = Runner(timeout, [plan])  # one fork server per worker process, kept between tasks

    def fetch(p: Any) -> Path:
        if p.source == "local":
            return Path(p.local_path)
        result = pull(p, progress=False)
        if result.status == "failed":
            from .errors import FmcatError

            raise FmcatError(result.reason or "pull failed")
        return Path(result.path)

    ctx = ray.get_runtime_context()
    node = f"{ctx.get_node_id()[:12]}@{ray.util.get_node_ip_address()}"
    with _plain_main():
        outcome, check = smoke_one(plan, device=device, dtype=dtype, trust_remote_code=trust_remote_code,
                                   runner=_WORKER_RUNNER, fetch=fetch, verify=verify)
    return {"outcome": replace(outcome, node=node), "check": check}


@contextlib.contextmanager
def _plain_main() -> Iterator[None]:
    """A model's child is prepared from its parent's ``__main__``: in a Ray worker that
    is Ray's own worker script, which every child would run again (importing Ray,
    about a second each). While a task starts children, ``__main__`` is a bare module."""
    import sys
    import types

    saved = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if saved is not None:
            sys.modules["__main__"] = saved


_WORKER_RUNNER: Any = None


def run_on_ray(plans: list[Any], address: str | None, *, device: str, dtype: str, trust_remote_code: bool,
               timeout: float) -> Iterator[Result]:
    """One Ray task per model (one GPU each on CUDA, memory from the weights' size),
    results as they finish; one retry for infrastructure failures; Ctrl-C cancels
    what is still running and nothing half-done is yielded."""
    import ray

    init: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.ERROR, "configure_logging": True}
    ip = _node_ip(address)
    if ip:
        init["_node_ip_address"] = ip
    if address in (None, "local"):
        init["include_dashboard"] = False
    with _stdout_to_stderr():
        ray.init(address=None if address in (None, "local") else address, **init)
        try:
            yield from _submit_and_collect(ray, plans, device=device, dtype=dtype,
                                           trust_remote_code=trust_remote_code, timeout=timeout)
        finally:
            ray.shutdown()


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Ray's driver prints cluster events ("(raylet) Raylet is terminated ...") to
    stdout, at the file-descriptor level; while Ray runs, fd 1 is stderr, so stdout
    holds only fmcat's own result (``--json`` stays one document)."""
    import os
    import sys

    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _largest_node_memory(ray: Any) -> float:
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    return max((n.get("Resources", {}).get("memory", 0) for n in nodes), default=0)


def _submit_and_collect(ray: Any, plans: list[Any], *, device: str, dtype: str, trust_remote_code: bool,
                        timeout: float) -> Iterator[Result]:
    cuda = device.startswith("cuda")
    task = ray.remote(_smoke_task)
    pending: dict[Any, Any] = {}
    largest = _largest_node_memory(ray)
    for p in plans:
        if p.skip_reason:
            yield p, SmokeOutcome(model=p.name, status="skipped", reason=p.skip_reason, revision=p.revision,
                                  device=device), None
            continue
        need = memory_estimate(p)
        if largest and need > largest:
            yield p, SmokeOutcome(model=p.name, status="failed", revision=p.revision, device=device,
                                  reason=f"needs about {need / 2**30:.1f} GiB of memory; the largest node of the "
                                         f"cluster offers {largest / 2**30:.1f} GiB"), None
            continue
        options: dict[str, Any] = {"max_retries": RETRIES, "retry_exceptions": False, "memory": need,
                                   "num_cpus": 1, "num_gpus": 1 if cuda else 0}
        ref = task.options(**options).remote(p, "cuda:0" if cuda else "cpu", dtype, trust_remote_code, timeout)
        pending[ref] = p
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                p = pending.pop(ref)
                try:
                    value = ray.get(ref)
                    yield p, value["outcome"], value["check"]
                except Exception as exc:  # noqa: BLE001 - an infrastructure failure is this model's outcome
                    yield p, _infra_outcome(p, device, exc), None
    except KeyboardInterrupt:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise


def _infra_outcome(p: Any, device: str, exc: BaseException) -> SmokeOutcome:
    name = type(exc).__name__
    cause = getattr(exc, "cause", None)
    detail = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
    kind = "infrastructure failure" if name in _INFRA or any(n in detail for n in _INFRA) else "task failure"
    retried = f" (after {RETRIES} retry)" if kind == "infrastructure failure" else ""
    why = f"{kind} on the Ray cluster{retried}: {name}" + (f" ({type(cause).__name__})" if cause else "")
    return SmokeOutcome(model=p.name, status="failed", revision=p.revision, device=device,
                        reason=f"{why}: {detail}", finished_at=_now())
