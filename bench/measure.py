"""Pure measuring helpers: percentiles, and the CPU a process tree used (from /proc).

No Django here: the load generator's own process (bench.load) imports this too.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path


def percentile(values: Iterable[float], p: float) -> float:
    """The value at `p` % of the sorted values (nearest rank, no interpolation)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def stat_fields(stat: str) -> tuple[int, list[str]]:
    """(pid, the fields after the command) of a /proc/<pid>/stat line. The
    command is in parentheses and may itself hold spaces and ")"."""
    head, tail = stat.rsplit(")", 1)
    return int(head.split("(", 1)[0]), tail.split()


def parent_pid(stat: str) -> int:
    return int(stat_fields(stat)[1][1])


def cpu_ticks(stat: str, *, with_reaped_children: bool = False) -> int:
    """utime + stime of one process, in clock ticks; with `with_reaped_children`,
    also the CPU of its children that have exited and been waited for
    (cutime + cstime): a gunicorn master that replaced a worker keeps that
    worker's CPU there, so nothing a recycled worker spent is lost."""
    fields = stat_fields(stat)[1]
    ticks = int(fields[11]) + int(fields[12])
    if with_reaped_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks


def descendants(parents: Mapping[int, int], root: int) -> list[int]:
    """Every process under `root` (children, their children…), given pid → parent pid."""
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    found, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return sorted(found)


def tree_cpu_ticks(stats: Mapping[int, str], root: int) -> int:
    """CPU ticks of `root` and everything under it, living or reaped, from
    /proc/<pid>/stat texts (pid → text). Subtract two readings to get what the
    tree spent between them: a child that exited in between moves its ticks
    from its own line to its parent's reaped-children fields, and counts once.
    (A child not yet waited for is missed until it is: gunicorn waits at once.)"""
    if root not in stats:
        return 0
    parents = {pid: parent_pid(text) for pid, text in stats.items()}
    total = cpu_ticks(stats[root], with_reaped_children=True)
    for pid in descendants(parents, root):
        total += cpu_ticks(stats[pid])
    return total


def read_stats(proc: Path = Path("/proc")) -> dict[int, str]:
    """Every process's stat line (processes that exit while reading are skipped)."""
    stats = {}
    for entry in proc.iterdir():
        if entry.name.isdigit():
            try:
                stats[int(entry.name)] = (entry / "stat").read_text()
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                continue
    return stats


def tree_cpu_seconds(roots: Mapping[str, int]) -> dict[str, float]:
    """CPU seconds so far of each named process tree (name → root pid), from one reading of /proc."""
    stats = read_stats()
    ticks = os.sysconf("SC_CLK_TCK")
    return {name: tree_cpu_ticks(stats, pid) / ticks for name, pid in roots.items()}


def tree_pids(root: int) -> list[int]:
    """`root` and the processes under it now."""
    stats = read_stats()
    return [root, *descendants({pid: parent_pid(text) for pid, text in stats.items()}, root)]


def child_pid(command_part: str, *, parent: int | None = None) -> int:
    """The pid of a child of `parent` (this process) whose command line holds `command_part`."""
    parent = os.getpid() if parent is None else parent
    for pid, stat in read_stats().items():
        if parent_pid(stat) == parent:
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except FileNotFoundError:
                continue
            if command_part in command:
                return pid
    raise LookupError(f"no child process running {command_part!r}")


def cpu_seconds(pids: Iterable[int]) -> float:
    """User and system CPU seconds these processes have used (gone ones count 0)."""
    total = 0
    for pid in pids:
        try:
            total += cpu_ticks(Path(f"/proc/{pid}/stat").read_text())
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total / os.sysconf("SC_CLK_TCK")
