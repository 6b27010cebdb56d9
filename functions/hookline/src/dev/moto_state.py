"""moto_server whose state outlives it: `hookline dev` runs this in place of
`moto_server` so a restart finds the tables, items, streams, queued messages
and secrets it left behind.

moto keeps everything in Python objects and has no storage of its own. This
pickles the backends of the services the local stack uses into one file:
after any request that may have changed them (at most once per interval),
and once more when the process is asked to stop (SIGTERM, SIGINT, and the
parent-death signal `hookline dev` arranges, so a SIGKILLed `hookline dev`
still gets a final snapshot). Only a SIGKILL of this process itself, or of
the machine, loses the writes of the last interval.

The file is written to a temporary name and renamed, so it is always either
the previous snapshot or the new one. One emulator at a time owns the data
directory (an flock on `emulator.pickle.lock`, held until the process
ends): a restarted `hookline dev` waits for the emulator it replaces to
finish its final snapshot before it restores, instead of restoring an older
one while the last is still being written. A snapshot from another moto version,
or one that cannot be read, is moved aside (`.unreadable`) and the emulator
starts empty, saying so on stderr.

Usage: python -c <this> STATE_FILE HOST PORT INTERVAL_SECONDS
"""

import copyreg
import fcntl
import os
import pickle
import signal
import sys
import threading
import time

SERVICES = ("dynamodb", "dynamodbstreams", "sqs", "secretsmanager")
FORMAT = 1

# Requests that never change a backend (by X-Amz-Target operation). Anything
# else, ReceiveMessage included (it moves visibility), marks the state dirty.
READS = {
    "GetItem", "BatchGetItem", "Query", "Scan", "DescribeTable", "ListTables",
    "DescribeTimeToLive", "DescribeContinuousBackups", "ListTagsOfResource",
    "DescribeStream", "ListStreams", "GetShardIterator", "GetRecords",
    "GetQueueUrl", "GetQueueAttributes", "ListQueues", "ListQueueTags",
    "GetSecretValue", "DescribeSecret", "ListSecrets", "ListSecretVersionIds",
}


def log(message):
    print(f"hookline-moto: {message}", file=sys.stderr, flush=True)


# Locks and conditions cannot be pickled; a restored object gets fresh ones
# (nobody can be holding them across a restart).
_lock_type = type(threading.Lock())
_rlock_type = type(threading.RLock())
copyreg.pickle(_lock_type, lambda _: (threading.Lock, ()))
copyreg.pickle(_rlock_type, lambda _: (threading.RLock, ()))
copyreg.pickle(threading.Condition, lambda _: (threading.Condition, ()))
copyreg.pickle(threading.Event, lambda _: (threading.Event, ()))


def release_in_flight(sqs):
    """Messages received and not yet deleted when the last emulator stopped
    were held by the workers of the `hookline dev` that stopped with it;
    nobody holds them now. On AWS they would come back when their
    visibility timeout ran out (minutes); here they come back at once, so
    a restart resumes a delivery that was cut short mid-attempt (a retry
    recorded but not yet queued, say) without that wait. Delayed messages
    keep their delay."""
    if sqs is None:
        return 0
    released = 0
    for regions in sqs.values():
        for backend in regions.values():
            for queue in backend.queues.values():
                for message in queue._messages:
                    if message.visible_at > 0 and not message.visible:
                        message.visible_at = 0.0
                        released += 1
                queue.pending_messages.clear()
    return released


class Store:
    def __init__(self, path, backends, version):
        self.path = path
        self.backends = backends
        self.version = version
        self.dirty = False
        self.guard = threading.Lock()

    def load(self):
        # A save cut short by SIGKILL leaves its partial file behind.
        folder = os.path.dirname(os.path.abspath(self.path))
        prefix = os.path.basename(self.path) + "."
        for name in os.listdir(folder):
            if name.startswith(prefix) and name.endswith(".tmp"):
                os.remove(os.path.join(folder, name))
        if not os.path.exists(self.path):
            return
        try:
            with open(self.path, "rb") as f:
                snapshot = pickle.load(f)
            if snapshot.get("format") != FORMAT or snapshot.get("moto") != self.version:
                raise ValueError(
                    f"written by moto {snapshot.get('moto')} (format {snapshot.get('format')}), "
                    f"this is moto {self.version}"
                )
        except Exception as e:  # noqa: BLE001 - any unreadable file is set aside
            aside = self.path + ".unreadable"
            os.replace(self.path, aside)
            log(f"cannot restore {self.path} ({e}); moved it to {aside} and started empty")
            return
        from moto.core.base_backend import BackendDict, backend_lock

        with backend_lock:
            for name, accounts in snapshot["state"].items():
                backend = self.backends.get(name)
                if backend is None:
                    continue
                backend.clear()
                backend.update(accounts)
                if accounts and backend not in BackendDict._instances:
                    BackendDict._instances.append(backend)
        released = release_in_flight(self.backends.get("sqs"))
        log(f"restored {self.path}" + (f"; {released} message(s) in flight are visible again" if released else ""))

    def dumps(self):
        state = {name: dict(b) for name, b in self.backends.items()}
        # Other threads keep serving requests; a dict that changes size
        # while it is pickled raises, and the next try sees it settled.
        # A long switch interval keeps them off the GIL for those moments.
        previous = sys.getswitchinterval()
        sys.setswitchinterval(10.0)
        try:
            for attempt in range(5):
                try:
                    return pickle.dumps(
                        {"format": FORMAT, "moto": self.version, "saved_at": time.time(), "state": state},
                        protocol=pickle.HIGHEST_PROTOCOL,
                    )
                except RuntimeError:
                    if attempt == 4:
                        raise
        finally:
            sys.setswitchinterval(previous)

    def save(self, wait=None):
        # A final save waits a bounded time for a periodic one in progress.
        if not self.guard.acquire(timeout=-1 if wait is None else wait):
            raise TimeoutError("a snapshot in progress did not finish")
        try:
            self._save()
        finally:
            self.guard.release()

    def _save(self):
        self.dirty = False
        data = self.dumps()
        partial = f"{self.path}.{os.getpid()}.{threading.get_ident()}.tmp"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, self.path)

    def saver(self, interval):
        while True:
            time.sleep(interval)
            if self.dirty:
                try:
                    self.save()
                except Exception as e:  # noqa: BLE001 - keep serving; say why
                    log(f"snapshot failed: {e!r}")


def tracking(app, store):
    def wrapped(environ, start_response):
        try:
            return app(environ, start_response)
        finally:
            # After the handler ran: its change is in the objects by now.
            target = environ.get("HTTP_X_AMZ_TARGET", "")
            operation = target.rsplit(".", 1)[-1]
            if not environ.get("PATH_INFO", "").startswith("/moto-api") and operation not in READS:
                store.dirty = True

    return wrapped


def own_directory(path, wait_seconds=30.0):
    """Holds the data directory's lock for this process's life; waits for a
    previous owner to finish (its final snapshot) first."""
    fd = os.open(path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() > deadline:
                log(f"another emulator still holds {path}.lock after {wait_seconds:.0f} s; is another hookline dev using this data directory?")
                os._exit(3)
            time.sleep(0.05)


def main():
    path, host, port, interval = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    # Kept open until exit: the kernel releases the lock only then.
    _lock = own_directory(path)  # noqa: F841
    os.environ.setdefault("MOTO_PORT", str(port))
    import logging

    # One line per request would fill the log; keep only this wrapper's lines.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    import moto
    from moto.backends import get_backend
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import run_simple

    store = Store(path, {name: get_backend(name) for name in SERVICES}, moto.__version__)
    store.load()

    def stop(signum, _frame):
        # Once stopping, another signal (the parent-death one and a plain
        # SIGTERM may both come) must not re-enter the save and deadlock on
        # its lock; and whatever happens, the process ends, so the next
        # emulator gets the directory.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
        watchdog = threading.Timer(20.0, lambda: os._exit(1))
        watchdog.daemon = True
        watchdog.start()
        try:
            store.save(wait=10.0)
            log(f"saved {path} on signal {signum}")
        except BaseException as e:  # noqa: BLE001 - say why, then go
            log(f"final snapshot failed: {e!r}")
        finally:
            os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Thread(target=store.saver, args=(interval,), daemon=True, name="snapshot").start()

    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, tracking(app, store), threaded=True)


main()
