from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince, timeuntil

from merchants import timezones

register = template.Library()


@register.filter
def get_item(mapping, key):
    if not mapping:
        return None
    return mapping.get(key)


# What a check's outcome code means, in the merchant's words (the store page's history).
OUTCOME_WORDS = {
    "connected": "Everything works",
    "missing_scopes": "Scopes missing",
    "invalid_token": "Access token refused",
    "store_not_found": "Store not found",
    "store_unavailable": "Store unavailable",
    "unreachable": "BigCommerce not reachable",
    "malformed_input": "Values not usable",
}


@register.filter
def outcome_words(outcome: str) -> str:
    return OUTCOME_WORDS.get(outcome, (outcome or "").replace("_", " ").capitalize())


@register.filter
def stamp(moment):
    """A time as `<time>` in one format everywhere, with its zone said plainly:
    "2026-12-01 14:05 UTC", in the reader's zone ("2026-12-01 15:05 CET")."""
    if not moment:
        return "—"
    return format_html('<time datetime="{}">{}</time>', moment.isoformat(), exact_time(moment))


def exact_time(moment) -> str:
    """The one way a time is written in full on merchant pages (merchants.timezones.written)."""
    return timezones.written(moment)


# The dashboard shows these for every store: written with datetime's own
# methods, not the `date` filter and an included template per store, which
# took about a third of the page's time at 50 stores.


@register.filter
def status_badge(store) -> str:
    """The store's status as a badge: `<span class="badge badge-revoked">Revoked</span>`."""
    return format_html('<span class="badge badge-{}">{}</span>', store.status, store.get_status_display())


@register.filter
def ago(moment) -> str:
    """"3 minutes ago" ("just now" within the minute), as `<time>` with the exact time in its title."""
    return _relative(moment, "{} ago", timesince, "just now")


@register.filter
def from_now(moment) -> str:
    """"in 12 minutes" ("within a minute"), as `<time>` with the exact time in its title."""
    return _relative(moment, "in {}", timeuntil, "within a minute")


def _relative(moment, words: str, distance, within_a_minute: str) -> str:
    if not moment:
        return "—"
    near = abs((timezone.now() - moment).total_seconds()) < 60  # timesince would say "0 minutes"
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        timezone.localtime(moment).isoformat(),
        exact_time(moment),
        within_a_minute if near else words.format(distance(moment)),
    )
