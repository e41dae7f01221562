"""Start the portal for development: the BigCommerce sandbox, the web server,
a Celery worker and beat.

Used by `make run`. Unless BIGCOMMERCE_API_URL is set, the portal talks to
the sandbox on loopback, and the sandbox writes its demo API accounts as
BigCommerce-style .txt files under var/sandbox-credentials/ to paste or upload.
Every process shares this terminal; Ctrl-C stops them all, and if one of them
dies the others are stopped too.
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
CREDENTIALS_DIR = ROOT / "var" / "sandbox-credentials"


def wait_for_file(path: Path, process: subprocess.Popen, seconds: float = 20) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        if process.poll() is not None:
            raise SystemExit(f"The sandbox exited with {process.returncode} before it was ready.")
        time.sleep(0.1)
    raise SystemExit("The sandbox did not start within 20 seconds.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--sandbox-port", type=int, default=8100)
    args = parser.parse_args()

    env = dict(os.environ, PYTHONUNBUFFERED="1")
    running: dict[str, subprocess.Popen] = {}

    def stop(*_):
        for process in reversed(running.values()):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in running.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()

    signal.signal(signal.SIGTERM, lambda *_: (stop(), sys.exit(0)))

    use_sandbox = "BIGCOMMERCE_API_URL" not in os.environ
    if use_sandbox:
        ready = ROOT / "var" / "sandbox.ready"
        ready.unlink(missing_ok=True)
        running["sandbox"] = subprocess.Popen(  # noqa: S603
            [
                PYTHON,
                "-m",
                "sandbox",
                "--host",
                "127.0.0.1",
                "--port",
                str(args.sandbox_port),
                "--write-credentials",
                str(CREDENTIALS_DIR),
                "--ready-file",
                str(ready),
                "--quiet",
                # BigCommerce only calls https receivers; on loopback the demo allows http.
                "--allow-http-webhooks",
            ],
            cwd=ROOT,
            env=env,
        )
        env["BIGCOMMERCE_API_URL"] = wait_for_file(ready, running["sandbox"])
        # Let the sandbox's signed deliveries reach this portal, as BigCommerce's would.
        env.setdefault("PUBLIC_BASE_URL", f"http://{args.host}:{args.port}")
        env.setdefault("BIGCOMMERCE_WEBHOOKS_ENABLED", "true")
    # The demo people (and, with the sandbox, their stores); their logins go in the banner below.
    seed = [PYTHON, "manage.py", "seed_demo", *(["--sandbox-credentials", str(CREDENTIALS_DIR)] if use_sandbox else [])]
    logins = subprocess.run(seed, cwd=ROOT, env=env, check=False, capture_output=True, text=True)  # noqa: S603

    # The portal under uvicorn, as production serves it (config/asgi.py): the
    # BigCommerce proxy's async view needs an ASGI server; the pages run as usual.
    running["web"] = subprocess.Popen(  # noqa: S603
        [PYTHON, "-m", "uvicorn", "config.asgi:application", "--host", args.host, "--port", str(args.port),
         "--no-access-log", "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )
    running["worker"] = subprocess.Popen(  # noqa: S603
        [PYTHON, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO", "--concurrency=2"], cwd=ROOT, env=env
    )
    running["beat"] = subprocess.Popen(  # noqa: S603
        [PYTHON, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO"], cwd=ROOT, env=env
    )

    url = f"http://{args.host}:{args.port}/"
    print(f"\n  Violet Connect is starting at {url}  (staff console: {url}admin/)")
    if logins.returncode == 0:
        print("  " + logins.stdout.strip().replace("\n", "\n  "))
    else:
        print(f"  seed_demo failed ({logins.returncode}); no demo logins:\n{logins.stderr}")
    print("  E-mails the portal sends (invitations, resets, status changes) are printed in this terminal.")
    if use_sandbox:
        print(f"  BigCommerce is the sandbox at {env['BIGCOMMERCE_API_URL']}; Acme's demo store is connected.")
        print(f"  API accounts to paste or upload in the wizard: {CREDENTIALS_DIR.relative_to(ROOT)}/*.txt")
    print("  Ctrl-C stops everything.\n", flush=True)

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
