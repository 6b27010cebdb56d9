"""Local-stack speed-up for moto's SQS, loaded into every Python of .venv by a
.pth file that infra/venv.sh installs (so `moto_server`, however started,
gets it).

Why: moto's SendMessage reads `queue.attributes` to learn one flag,
ContentBasedDeduplication, and that property recounts every message in the
queue (visible, delayed, in flight) each time. A send therefore costs time
in proportion to the queue's length, and filling a queue with 10,000
messages (one event fanned out to 10,000 endpoints) takes tens of minutes.
While a send is in progress this answers that one flag directly; every
other use of `attributes` (GetQueueAttributes and the rest) is unchanged.

The patch is applied when moto.sqs.models is first imported, and only then.
"""

import importlib.abc
import importlib.util
import sys
import threading

_TARGET = "moto.sqs.models"
_sending = threading.local()


def _patch(models):
    queue_cls = models.Queue
    backend_cls = models.SQSBackend
    full_attributes = queue_cls.attributes

    def attributes(self):
        if getattr(_sending, "active", False):
            flag = getattr(self, "content_based_deduplication", False)
            return {"ContentBasedDeduplication": str(flag).lower() if isinstance(flag, bool) else flag}
        return full_attributes.fget(self)

    queue_cls.attributes = property(attributes)
    original_send = backend_cls.send_message

    def send_message(self, *args, **kwargs):
        _sending.active = True
        try:
            return original_send(self, *args, **kwargs)
        finally:
            _sending.active = False

    backend_cls.send_message = send_message


class _PatchOnImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != _TARGET:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return None
        load = spec.loader.exec_module

        def exec_module(module):
            load(module)
            _patch(module)

        spec.loader.exec_module = exec_module
        return spec


if not any(isinstance(f, _PatchOnImport) for f in sys.meta_path):
    sys.meta_path.insert(0, _PatchOnImport())
