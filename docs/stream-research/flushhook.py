"""Run callbacks whenever the PyFlink Python harness finishes a bundle.
The Java Python operator finishes the bundle in prepareSnapshotPreBarrier (before the checkpoint
barrier is forwarded), on python.fn-execution.bundle.size / bundle.time, and at end of input.
PRIVATE API of pyflink 2.3 (pyflink.fn_execution.datastream.process.operations) - pin the version.
The registry lives on the patched module so every unpickled copy of user code shares it."""
import threading
def install(cb):
    from pyflink.fn_execution.datastream.process import operations as ops
    with _lock:
        hooks = getattr(ops, "_flush_hooks", None)
        if hooks is None:
            hooks = ops._flush_hooks = []
            for cls in (ops.StatelessOperation, ops.StatefulOperation):
                orig = cls.finish
                def finish(self, _orig=orig):
                    for h in list(ops._flush_hooks):
                        h()
                    _orig(self)
                cls.finish = finish
        hooks.append(cb)
_lock = threading.Lock()
