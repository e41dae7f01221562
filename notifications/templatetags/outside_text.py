"""Outside text in e-mail bodies: a merchant's name, a store's name or domain
from BigCommerce, an address. Every such string goes through one cleaner,
`config.mail.header_text` (control, separator and format characters such as
U+2028 and bidi overrides removed, white space folded, length capped), and a
name is quoted, so it reads as the store's or the merchant's own words."""

from django import template

from config.mail import header_text

register = template.Library()


@register.filter
def outside(value, max_length=120) -> str:
    """One clean line of outside text."""
    return header_text(value, max_length=int(max_length))


@register.filter
def quoted(value) -> str:
    """An outside name, cleaned and in quotes: "Acme Outfitters"."""
    return f'"{header_text(value)}"'
