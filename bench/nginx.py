"""nginx as the proxy figure's yardstick: Debian's package, a plain reverse proxy
that adds one fixed `X-Auth-Token`, run as a child of the benchmark.

The benchmark installs it if it is missing (`apt-get install nginx`; as root,
which this project's machines are), writes its configuration into a temporary
directory and runs it in the foreground (`daemon off`), so it stops with the
benchmark and touches nothing of the system's nginx.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "nginx"  # Debian's: the binary that nginx-light and nginx-full also bring


def find_nginx() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)


def ensure_installed() -> str:
    """The nginx binary, installed from Debian's packages if missing."""
    if found := find_nginx():
        return found
    if os.geteuid() != 0:
        raise RuntimeError(f"nginx is missing and only root can install it: apt-get install {PACKAGE}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", PACKAGE]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:  # noqa: S603
        # A machine's package lists may be missing or old: read them, then again.
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, check=True)  # noqa: S603, S607
        subprocess.run(install, env=env, capture_output=True, check=True)  # noqa: S603
    if found := find_nginx():
        return found
    raise RuntimeError(f"apt-get installed {PACKAGE} but there is no nginx binary")


def version(binary: str) -> str:
    # `nginx -v` writes "nginx version: nginx/1.22.1" to standard error.
    out = subprocess.run([binary, "-v"], capture_output=True, text=True)  # noqa: S603
    return (out.stderr or out.stdout).strip().rsplit(" ", 1)[-1]


def config(*, directory: Path, listen_port: int, upstream: str, token: str, workers: str = "auto") -> str:
    """A plain reverse proxy to `upstream` (host:port) adding `X-Auth-Token`:
    what a team would put in front of BigCommerce without the portal. A
    keepalive pool of 200 connections upstream (HTTP/1.1, no `Connection`
    header passed on), no access log, and every path it writes in `directory`.
    `workers`: "auto" (Debian's default: one per core) or a number."""
    if not all(c.isalnum() or c in "-_." for c in token):
        raise ValueError("the token must be plain letters and digits")
    return f"""\
daemon off;
master_process on;
worker_processes {workers};
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;

events {{
    worker_connections 4096;
}}

http {{
    access_log off;
    client_body_temp_path {directory}/client_body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    keepalive_requests 1000000;

    upstream bigcommerce {{
        server {upstream};
        keepalive 200;
    }}

    server {{
        listen 127.0.0.1:{listen_port} backlog=4096;
        location / {{
            proxy_pass http://bigcommerce;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Auth-Token "{token}";
        }}
    }}
}}
"""


@dataclass
class RunningNginx:
    url: str
    pid: int
    version: str
    workers: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, *, timeout: float = 30.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the process on port {port} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port} after {timeout} s")


@contextmanager
def running_nginx(*, upstream: str, token: str, workers: str = "auto") -> Iterator[RunningNginx]:
    binary = ensure_installed()
    with tempfile.TemporaryDirectory(prefix="bench-nginx-") as tmp:
        directory = Path(tmp)
        port = free_port()
        conf = directory / "nginx.conf"
        conf.write_text(config(directory=directory, listen_port=port, upstream=upstream, token=token, workers=workers))
        process = subprocess.Popen(  # noqa: S603
            [binary, "-p", tmp, "-c", str(conf), "-e", str(directory / "error.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port(port, process=process)
            yield RunningNginx(
                url=f"http://127.0.0.1:{port}", pid=process.pid, version=version(binary), workers=workers
            )
        finally:
            process.terminate()  # nginx's master stops its workers on SIGTERM
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
