"""Shared plumbing of the libtorrent test drivers: JSON-lines commands on stdin, events on stdout.

A driver object has `start(cmd)` (creates the session), `handle(cmd)` (every other command, only
once started), `pump(timeout_s)` (process libtorrent alerts), `close()` and a `ses` attribute (None
until started). `run(driver)` serves commands until `quit`, the end of stdin,
or LIFETIME_S seconds, whichever comes first, so a forgotten driver never outlives its test.
"""
import json
import queue
import sys
import threading
import time

LIFETIME_S = 120.0


def import_libtorrent():
    """Debian's libtorrent bindings, or exit 3 with an error event the test turns into a clear failure."""
    try:
        import libtorrent
    except ImportError as error:
        emit({"event": "error", "message": "cannot import libtorrent: %s" % error})
        sys.exit(3)
    return libtorrent


def emit(event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def read_stdin(commands):
    for line in sys.stdin:
        line = line.strip()
        if line:
            commands.put(line)
    commands.put(None)  # end of input


def run(driver):
    commands = queue.Queue()
    threading.Thread(target=read_stdin, args=(commands,), daemon=True).start()
    try:
        return serve(commands, driver)
    finally:
        driver.close()


def serve(commands, driver):
    end = time.monotonic() + LIFETIME_S
    while time.monotonic() < end:
        while True:
            try:
                line = commands.get_nowait()
            except queue.Empty:
                break
            if line is None:
                return 0
            try:
                cmd = json.loads(line)
                if cmd.get("cmd") == "quit":
                    emit({"event": "bye"})
                    return 0
                if cmd.get("cmd") == "start":
                    driver.start(cmd)
                elif driver.ses is None:
                    raise RuntimeError("send start first")
                else:
                    driver.handle(cmd)
            except Exception as error:  # report, keep serving: the test decides what is fatal
                emit({"event": "error", "message": "%s: %s" % (type(error).__name__, error)})
        if driver.ses is None:
            time.sleep(0.05)
        else:
            try:
                driver.pump(0.05)
            except Exception as error:  # a bug in alert handling: report it, keep serving
                emit({"event": "error", "message": "alert handling: %s: %s" % (type(error).__name__, error)})
    emit({"event": "error", "message": "lifetime of %d s exceeded, exiting" % LIFETIME_S})
    return 2
