"""gunicorn's settings for the proxy figure when `BENCH_PROXY_PROFILE=<dir>` is set:
the project's own (config/gunicorn.conf.py), plus cProfile in every worker, in its
event loop's thread and in every thread it starts (Django's sync_to_async
threads), written to `<dir>/worker-<pid>.prof` when the worker exits. Read with
`python -m bench.profile <dir>`.
"""

import cProfile
import os
import pstats
import signal
import threading
import time
from pathlib import Path

_project = Path(__file__).resolve().parent.parent / "config" / "gunicorn.conf.py"
exec(compile(_project.read_text(), str(_project), "exec"))  # noqa: S102 - the project's own settings file

_profiles: list[cProfile.Profile] = []


def _profile_this_thread(*_args) -> None:
    """The first profile event of each new thread: from then on a profiler of its own."""
    profile = cProfile.Profile(time.thread_time)  # its CPU, not its waiting
    _profiles.append(profile)
    profile.enable()


def post_worker_init(worker):
    # uvicorn ends a worker on SIGTERM by raising the signal again with the
    # handler it found at the start, which is this one, after its shutdown.
    signal.signal(signal.SIGTERM, _write_and_die)
    threading.setprofile(_profile_this_thread)
    _profile_this_thread()


def _write_and_die(signum, frame):
    _write()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def worker_exit(server, worker):
    """A worker that leaves by itself (after `max_requests`) passes here."""
    _write()


def _write():
    if not _profiles:
        return
    for profile in _profiles:
        profile.disable()
    stats = pstats.Stats(_profiles[0])
    for profile in _profiles[1:]:
        try:
            stats.add(profile)
        except TypeError:  # a thread's profiler that saw nothing
            continue
    stats.dump_stats(Path(os.environ["BENCH_PROXY_PROFILE"]) / f"worker-{os.getpid()}.prof")
    _profiles.clear()
