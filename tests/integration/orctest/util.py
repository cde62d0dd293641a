"""Small helpers shared by the integration fixtures: free ports, bounded waits, cleanup.

Everything a test starts (sandboxes, orchestrator processes) registers itself here so that it
is stopped even when pytest is interrupted (atexit, SIGTERM, SIGHUP).
"""
import atexit
import os
import signal
import socket
import threading
import time

LOCALHOST = "127.0.0.1"


def free_ports(count):
    """Returns `count` distinct TCP ports that were free on 127.0.0.1 a moment ago."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((LOCALHOST, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def free_port():
    """Returns one TCP port that was free on 127.0.0.1 a moment ago."""
    return free_ports(1)[0]


def port_open(port, host=LOCALHOST, timeout=0.5):
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(predicate, timeout, interval=0.05, what="condition"):
    """Calls predicate until it returns a truthy value, which is returned.

    Raises TimeoutError after `timeout` seconds; the last exception raised by the predicate
    (if any) is chained so the failure says why it never became true.
    """
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - kept for the error message
            last_exc = exc
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} not reached within {timeout:g}s") from last_exc
        time.sleep(interval)


_lock = threading.Lock()
_live = []
_handlers_installed = False


def register(resource):
    """Remembers a resource with a cleanup() method until unregister() is called."""
    with _lock:
        _live.append(resource)
    _install_handlers()


def unregister(resource):
    with _lock:
        if resource in _live:
            _live.remove(resource)


def cleanup_all():
    """Cleans up every registered resource, newest first; never raises."""
    while True:
        with _lock:
            if not _live:
                return
            resource = _live.pop()
        try:
            resource.cleanup()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


def _on_signal(signum, _frame):
    cleanup_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_handlers():
    global _handlers_installed
    if _handlers_installed or threading.current_thread() is not threading.main_thread():
        return
    _handlers_installed = True
    atexit.register(cleanup_all)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) in (signal.SIG_DFL, None):
            signal.signal(sig, _on_signal)
