"""A plain mail to Violet's staff (STAFF_NOTIFICATION_EMAILS) about something
that is no store's status change — e.g. a service client reading far more
stores' credentials than usual. Nothing is sent when no address is set."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail

from config.mail import header_text


def staff_alert_send(*, subject: str, body: str) -> bool:
    """Send it; False when there is nobody to tell. The subject goes through
    `header_text` (outside text such as a client's name stays one clean line);
    the body must hold no secret."""
    recipients = list(settings.STAFF_NOTIFICATION_EMAILS)
    if not recipients:
        return False
    send_mail(
        subject=header_text(f"[Violet Connect] {subject}", max_length=200),
        message=body,
        from_email=None,
        recipient_list=recipients,
    )
    return True
