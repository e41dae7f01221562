"""Live checks from the merchant forms are limited per merchant and per
address, so the credentials form cannot be used to test stolen tokens. The
counting is `config.throttle`'s sliding window (no double limit across a
window's edge)."""

from config.throttle import allow, retry_after

__all__ = ["allow", "retry_after"]
