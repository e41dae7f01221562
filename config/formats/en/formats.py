"""One way to write a time across the portal and the staff console:
2026-12-01 14:05 UTC (the zone said plainly: the reader's, which
merchants.timezones.UserTimeZoneMiddleware activates; UTC by default)."""

DATETIME_FORMAT = "Y-m-d H:i T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i T"
DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i T"
