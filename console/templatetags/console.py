"""Template tags of the staff console: the fleet at a glance on the admin index."""

from django import template

from console import display, selectors

register = template.Library()


@register.simple_tag
def fleet_overview():
    """Everything the admin index shows about the fleet (a handful of cheap queries)."""
    return selectors.fleet_overview()


@register.filter
def status_badge(status: str) -> str:
    """A store status as a coloured badge."""
    return display.status_badge(status)


@register.filter
def thousands(value) -> str:
    """12345 → "12,345"."""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)
