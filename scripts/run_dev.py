"""Start the portal for development: web server, Celery worker and beat.

Used by `make run`. Every process shares this terminal's output; Ctrl-C stops
them all, and if one of them dies the others are stopped too.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()

    env = dict(os.environ, PYTHONUNBUFFERED="1")
    processes = {
        "web": [PYTHON, "manage.py", "runserver", f"{args.host}:{args.port}", "--noreload"],
        "worker": [PYTHON, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO", "--concurrency=2"],
        "beat": [PYTHON, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO"],
    }
    running: dict[str, subprocess.Popen] = {}
    for name, command in processes.items():
        running[name] = subprocess.Popen(command, cwd=ROOT, env=env)  # noqa: S603

    url = f"http://{args.host}:{args.port}/"
    print(f"\n  Violet Connect is starting at {url}  (staff console: {url}admin/)")
    print("  Log in with one of the demo logins printed above. Ctrl-C stops everything.\n", flush=True)

    def stop(*_):
        for process in running.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in running.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()

    signal.signal(signal.SIGTERM, lambda *_: (stop(), sys.exit(0)))
    try:
        while True:
            for name, process in running.items():
                if process.poll() is not None:
                    print(f"{name} exited with {process.returncode}; stopping the rest.", flush=True)
                    stop()
                    return process.returncode or 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
