"""Callbacks run whenever PyFlink's Python harness finishes a bundle.

PyFlink 2.3 has no checkpoint listener for Python functions (no notify_checkpoint_complete,
no snapshot_state). What it has: the Java Python operator finishes the current bundle in
`prepareSnapshotPreBarrier`, i.e. before it forwards a checkpoint barrier, and also on
`python.fn-execution.bundle.size` / `bundle.time` and at end of input. A sink that buffers
in memory and flushes when a bundle finishes therefore has written everything the
checkpoint covers before the checkpoint completes (docs/stream-research/FINDINGS.md §3).

This patches `Operation.finish` of `pyflink.fn_execution.datastream.process.operations`, a
private API: pyflink is pinned (apache-flink==2.3.0). The end-to-end tests in
tests/e2e/test_stream_e2e.py cover it: test_a_job_killed_mid_run_restores_from_its_checkpoint
loses records if a checkpoint passes while they are still buffered (the hook did not fire),
and test_mongodb_unreachable_for_seconds_mid_run_loses_and_repeats_nothing needs a failed
flush to fail the bundle. (The run processor also flushes before each stats report, so a
run smaller than one MongoDB batch landing whole does not by itself prove the hook fires.)
The callbacks run before the operator commits its
keyed state, so a callback that raises (the sink's server is down) fails the bundle and
Flink restores from the last checkpoint instead of committing state past unwritten records.

The registry lives on the patched module, not here: every operator gets its own
cloudpickle copy of user code, and only a module attribute is shared by all of them. One
worker process runs several operators' bundles on different threads, so a callback may run
while another operator processes elements: callbacks must lock their own buffers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

_install_lock = threading.Lock()
_REGISTRY = "_trawl_flush_hooks"


def install(callback: Callable[[], None]) -> None:
    """Registers `callback` to run at every bundle finish in this worker process."""
    from pyflink.fn_execution.datastream.process import operations

    with _install_lock:
        hooks: list[Callable[[], None]] | None = getattr(operations, _REGISTRY, None)
        if hooks is None:
            hooks = []
            setattr(operations, _REGISTRY, hooks)
            for cls in (operations.StatelessOperation, operations.StatefulOperation):
                cls.finish = _with_hooks(cls.finish, operations)
        hooks.append(callback)


def uninstall(callback: Callable[[], None]) -> None:
    from pyflink.fn_execution.datastream.process import operations

    with _install_lock:
        hooks: list[Callable[[], None]] = getattr(operations, _REGISTRY, [])
        if callback in hooks:
            hooks.remove(callback)


def _with_hooks(finish: Callable[[Any], None], module: Any) -> Callable[[Any], None]:
    def finish_after_hooks(self: Any) -> None:
        for hook in list(getattr(module, _REGISTRY)):
            hook()
        finish(self)

    return finish_after_hooks
