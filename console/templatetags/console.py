"""Template tags of the staff console: the fleet at a glance on the admin index."""

from django import template

from console import display, selectors

register = template.Library()


@register.simple_tag
def fleet_overview():
    """Everything the admin index shows about the fleet (a handful of cheap queries)."""
    return selectors.fleet_overview()


@register.inclusion_tag("admin/incident_banner.html", takes_context=True)
def incident_banner(context):
    """The banner every console page shows while a fleet-wide incident is open
    (one small query; nothing for a visitor who is not signed-in staff)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_active or not user.is_staff:
        return {"incidents": []}
    return {"incidents": selectors.open_incidents()}


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
