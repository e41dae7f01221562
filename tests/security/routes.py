"""Every URL pattern of the portal, walked once, for the tests that try each route."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.urls import URLPattern, URLResolver, get_resolver

KWARG = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


def routes(wanted: Callable[[str], bool]) -> list[tuple[str, str]]:
    """(name, route) of every pattern whose full route `wanted` accepts."""
    found = []

    def walk(patterns, prefix):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and wanted(route):
                found.append((pattern.name, route))

    walk(get_resolver().url_patterns, "")
    return found


def kwarg_names(route: str) -> set[str]:
    return {match.group("name") for match in KWARG.finditer(route)}
