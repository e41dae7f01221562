"""Read the proxy figure's worker profiles (BENCH_PROXY_PROFILE=<dir>, bench/gunicorn_profile.py):

    .venv/bin/python -m bench.profile <dir> [how many lines, default 30]

Merges every worker's file and prints where their CPU went (each thread's own
CPU time), by own time and by cumulative time.
"""

from __future__ import annotations

import pstats
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    files = sorted(str(path) for path in Path(argv[0]).glob("worker-*.prof"))
    if not files:
        print(f"no worker-*.prof in {argv[0]}")
        return 1
    lines = int(argv[1]) if len(argv) > 1 else 30
    stats = pstats.Stats(*files)
    stats.strip_dirs()
    for order in ("tottime", "cumulative"):
        stats.sort_stats(order).print_stats(lines)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
