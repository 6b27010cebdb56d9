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

A fidelity fix rides along. moto's ReceiveMessage tests whether each message
is visible and marks it received with no lock in between, so two pollers
calling at the same moment can both be handed the same message. Real SQS
can deliver a message twice too, but rarely; here it happened to a few
dozen of 50,000 messages in a soak, which drowned the duplicates the soak is
meant to count (those caused by killing a worker mid-attempt). Receives from
one queue now take turns. Waiting (long polling) happens outside the turn,
so a poller of an empty queue does not hold up the others.

The patch is applied when moto.sqs.models is first imported, and only then.
"""

import importlib.abc
import importlib.util
import sys
import threading
import time

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

    original_receive = backend_cls.receive_message
    turns = {}
    turns_guard = threading.Lock()

    def receive_message(self, queue_name, count, wait_seconds_timeout, visibility_timeout, message_attribute_names=None):
        with turns_guard:
            turn = turns.setdefault((id(self), queue_name), threading.Lock())
        deadline = time.monotonic() + (wait_seconds_timeout or 0)
        while True:
            with turn:
                got = original_receive(self, queue_name, count, 0, visibility_timeout, message_attribute_names)
            left = deadline - time.monotonic()
            if got or left <= 0:
                return got
            self.get_queue(queue_name).wait_for_messages(min(1.0, left))

    backend_cls.receive_message = receive_message


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
