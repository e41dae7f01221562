"""The words in BigCommerce's error bodies that change what an answer means,
each with where it was seen. Matched on normalised text (`normalise`: case,
whitespace, punctuation and apostrophe variants do not matter).

Every body these were taken from is an entry of `docs/bigcommerce/answers.json`
with its source and the verdict it must get.
"""

from __future__ import annotations

import re
import unicodedata

# A missing scope (on a 403; on a 401 in older answers).
SCOPE_ERRORS: tuple[tuple[str, str], ...] = (
    (
        "You don't have a required scope to access the endpoint",
        "observed: Space48/bigcommerce-token-validator @ ebf93031, answers.json 'scope_error'",
    ),
    (
        "You are authorized but your scope does not include this resource.",
        "observed (older answers, on 401 and 403): bigcommerce/bigcommerce-api-python "
        "bigcommerce/connection.py ('/store gives a \"your scope does not include this resource\"'); "
        "answers.json 'scope_error_older_wording_401' and '..._403'",
    ),
)
# Any text that says "missing/required/insufficient scope(s)" also counts.
MISSING_SCOPE = re.compile(r"\b(missing|required|insufficient) (oauth )?scopes?\b")

# A 503 whose body says the STORE is down (shipping.v3.yml: "down for maintenance,
# being upgraded, or suspended"); any other 503 is one service's (price lists'
# SERVICE_DEGRADED, refunds' "Tax service gone away", abandoned carts' "a service
# is likely down": bigcommerce/docs, issue 27).
STORE_DOWN = re.compile(r"\b(maintenance|suspended|suspension)\b")

# A 404 that is about the store or the route, not the resource a probe aimed at
# (a write probe's 404 proves the scope only when the resource was looked for).
# The store's wording is assumed (answers.json 'store_not_found_assumed'): how
# BigCommerce answers an unknown store hash is not documented.
_STORE_404 = (
    r"\b(store|stores) (was |were )?(not found|does not exist|doesnt exist|unknown)\b"
    r"|\b(no|unknown) (such )?store\b"
)
ROUTE_OR_STORE_404 = re.compile(
    _STORE_404 + r"|\b(no|unknown) (such )?(route|endpoint)\b"
    r"|\b(route|endpoint|api path) (was )?(not found|does not exist)\b"
)
# The store part alone: a 404 that names the store, whatever path it answered
# (traffic signals, `stores.traffic_rule`: a route's 404 is the caller's mistake).
STORE_404 = re.compile(_STORE_404)

_APOSTROPHES = dict.fromkeys(map(ord, "'`´ʼ‘’′"), None)


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).casefold()
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


NORMALISED_SCOPE_ERRORS = tuple(normalise(wording) for wording, _ in SCOPE_ERRORS)
