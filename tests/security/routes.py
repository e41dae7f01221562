"""Every URL pattern of the portal, walked once, for the tests that try each route."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from django.urls import URLPattern, URLResolver, get_resolver

KWARG = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


def url_patterns(
    patterns=None, prefix: str = "", namespace: str | None = None
) -> Iterator[tuple[URLPattern, str, str | None]]:
    """(pattern, full route, namespace) of every URL pattern of the portal, or
    of `patterns` (e.g. `admin.site.get_urls()`): the one walk of the URL
    configuration the tests that try every route share."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from url_patterns(entry.url_patterns, route, entry.namespace or namespace)
        elif isinstance(entry, URLPattern):
            yield entry, route, namespace


def routes(wanted: Callable[[str], bool]) -> list[tuple[str, str]]:
    """(name, route) of every pattern whose full route `wanted` accepts."""
    return [(pattern.name, route) for pattern, route, _ in url_patterns() if wanted(route)]


def kwarg_names(route: str) -> set[str]:
    return {match.group("name") for match in KWARG.finditer(route)}
