"""Live validation of one store-level API account: which scopes does it have?

`validate()` fires the six scope probes (plus, at onboarding, the no-scope
baseline `GET /v2/time`) all at once, so the answer takes about one round
trip, and turns the answers into a `Report`.

Outcome precedence (first match wins):

1. `invalid_token`: any 401, on a probe or on the baseline.
2. `store_not_found`: the baseline answered 403/404 and no probe answered
   anything but 403/404 (a probe's 2xx/400/422 proves the store exists).
3. `unreachable`: every probe that answered said 403/404 and the baseline could
   not tell whether the store hash or the scopes are at fault (no answer), or
   `store_unavailable` if the baseline answered 503.
4. `connected`: all six scopes granted (whatever the baseline said).
5. `missing_scopes`: at least one 403 on a probe. A missing scope is a lasting
   property of the API account, so it outranks answers that pass by
   themselves (503, timeouts); scopes that could not be checked stay unknown.
6. `store_unavailable`: a 503 on a probe or the baseline.
7. `unreachable`: some scope is unknown (timeouts, resets, 5xx or 429 after
   the retries, or an answer the probe table cannot interpret).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from .client import (
    BigCommerceClient,
    Call,
    RequestsTransport,
    Transport,
    is_valid_access_token,
    is_valid_store_hash,
)
from .probes import BASELINE, INFORMATION, PROBES, Probe, Verdict
from .report import (
    Credentials,
    Exchange,
    Outcome,
    Problem,
    Report,
    ScopeState,
    malformed_report,
    unknown_scopes,
)
from .scopes import scope_label

logger = logging.getLogger(__name__)

PROFILE_FIELDS = (
    "id", "name", "domain", "secure_url", "control_panel_base_url", "status",
    "plan_name", "plan_level", "plan_is_trial", "currency", "currency_symbol",
    "decimal_places", "weight_units", "dimension_units", "country_code",
    "timezone", "admin_email",
)  # fmt: skip
NOT_FOUND_STATUSES = frozenset({403, 404})

Answers = list[tuple[Probe, Call]]  # each probe with what its call produced


async def validate(
    credentials: Credentials, *, client: BigCommerceClient, baseline: bool = True
) -> Report:
    """Check the credentials live and say what they allow.

    `baseline=True` (onboarding) fires `GET /v2/time` together with the six
    probes: 7 requests, one round trip. `baseline=False` (periodic checks of a
    store hash already known good) fires the 6 probes and calls the baseline
    only when every answer was 403/404, to tell a wrong store from no scopes.
    Never raises for HTTP trouble; a malformed hash or token gives a
    `malformed_input` report without any request.
    """
    malformed = _malformed(credentials)
    if malformed is not None:
        return malformed
    calls = [_fire(client, credentials, probe) for probe in PROBES]
    if baseline:
        calls.append(_fire(client, credentials, BASELINE))
    results = await asyncio.gather(*calls)
    probe_calls = list(zip(PROBES, results[: len(PROBES)], strict=True))
    baseline_call = results[len(PROBES)] if baseline else None
    if baseline_call is None and _needs_baseline(probe_calls):
        baseline_call = await _fire(client, credentials, BASELINE)
    return conclude(credentials.store_hash, probe_calls, baseline_call)


async def validate_light(credentials: Credentials, *, client: BigCommerceClient) -> Report:
    """The light check: `GET /v2/store` alone (1 request).

    A 2xx proves the token and the store hash and brings a fresh profile; it
    says nothing about the other scopes, so the report lists only the store
    information scope and is `connected` in that narrow sense. Anything else
    is NOT conclusive by itself: the caller runs the full `validate()` at once.
    """
    malformed = _malformed(credentials)
    if malformed is not None:
        return malformed
    call = await _fire(client, credentials, INFORMATION)
    return conclude(credentials.store_hash, [(INFORMATION, call)], None)


async def validate_escalating(
    credentials: Credentials, *, client: BigCommerceClient, full: bool
) -> tuple[Report, bool]:
    """A light check, or the full one; (report, whether it was full).

    A light check that saw anything but a healthy answer is followed at once
    by the full check, whose report (with the light exchange first in its
    evidence) is the one that counts.
    """
    if not full:
        light = await validate_light(credentials, client=client)
        if light.ok:
            return light, False
    report = await validate(credentials, client=client, baseline=False)
    if not full:
        report.exchanges = light.exchanges + report.exchanges
        report.notes.insert(0, f"The light check (GET /v2/store) answered {light.outcome}; every probe followed.")
    return report, True


def validate_sync(
    credentials: Credentials,
    *,
    base_url: str,
    baseline: bool = True,
    transport: Transport | None = None,
    **client_options: Any,
) -> Report:
    """`validate()` for sync code (the wizard's Django view), over requests.

    Runs its own event loop with `asyncio.run()`, so it must NOT be called
    from inside a running event loop (an async view or task): await
    `validate()` there. Pass a long-lived `RequestsTransport` as `transport`
    to reuse connections between calls (it is thread-safe and stays open);
    otherwise a fresh one is created and closed.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError("validate_sync() cannot run in an event loop; await validate() there")
    return asyncio.run(_validate_once(credentials, base_url, baseline, transport, client_options))


async def _validate_once(
    credentials: Credentials,
    base_url: str,
    baseline: bool,
    transport: Transport | None,
    client_options: dict[str, Any],
) -> Report:
    client = BigCommerceClient(base_url, transport or RequestsTransport(), **client_options)
    try:
        return await validate(credentials, client=client, baseline=baseline)
    finally:
        if transport is None:
            await client.aclose()


def _malformed(credentials: Credentials) -> Report | None:
    if not is_valid_store_hash(credentials.store_hash):
        problem = Problem(
            "store_hash", "store_hash_malformed",
            "The store hash is not right: it is the short code of letters and digits after "
            "/stores/ in the API path. Copy the API path again from your API account.",
        )  # fmt: skip
        return malformed_report(str(credentials.store_hash), [problem])
    if not is_valid_access_token(credentials.access_token):
        problem = Problem(
            "access_token", "access_token_malformed",
            "The access token contains spaces or characters a BigCommerce token never has. "
            "Copy it again from your API account.",
        )  # fmt: skip
        return malformed_report(credentials.store_hash, [problem])
    return None


async def _fire(client: BigCommerceClient, credentials: Credentials, probe: Probe) -> Call:
    return await client.request(
        probe.method,
        credentials.store_hash,
        probe.path,
        access_token=credentials.access_token,
        json_body=probe.body,
    )


def _refusals(probe_calls: Answers) -> tuple[bool, bool]:
    """(only refused, every answer refused), refusals being 403/404 answers.

    "Only refused": no probe answered anything but 403/404 (true when none
    answered at all). "Every answer refused": that, and some probe answered.
    Transient failures (no answer, 429, 5xx but 503) do not count as answers.
    """
    statuses = [
        call.status
        for probe, call in probe_calls
        if call.status is not None and probe.interpret(call.status) != Verdict.TRANSIENT
    ]
    only_refused = all(status in NOT_FOUND_STATUSES for status in statuses)
    return only_refused, only_refused and bool(statuses)


def _needs_baseline(probe_calls: Answers) -> bool:
    """Every answer was 403/404: a wrong store hash, or no scopes at all?"""
    return _refusals(probe_calls)[1]


def conclude(store_hash: str, probe_calls: Answers, baseline_call: Call | None) -> Report:
    """Turn the probes' (and maybe the baseline's) answers into a Report."""
    verdicts = {probe.scope: probe.interpret(call.status) for probe, call in probe_calls}
    base = BASELINE.interpret(baseline_call.status) if baseline_call is not None else None
    exchanges = _exchanges(probe_calls, baseline_call)
    only_refused, every_answer_refused = _refusals(probe_calls)
    store, notes = _profile(probe_calls)
    notes += _surprises(probe_calls)

    def report(outcome: Outcome, scopes: dict[str, ScopeState], problems: list[Problem]) -> Report:
        return Report(
            ok=outcome == Outcome.CONNECTED,
            store_hash=store_hash,
            outcome=outcome,
            scopes=scopes,
            store=store,
            problems=problems,
            exchanges=exchanges,
            notes=notes,
        )

    if Verdict.INVALID_TOKEN in verdicts.values() or base == Verdict.INVALID_TOKEN:
        return report(Outcome.INVALID_TOKEN, unknown_scopes(), [_invalid_token_problem(store_hash)])
    if base == Verdict.NOT_FOUND and only_refused:
        problem = _store_not_found_problem(store_hash)
        return report(Outcome.STORE_NOT_FOUND, unknown_scopes(), [problem])
    if every_answer_refused and base != Verdict.GRANTED:
        status = baseline_call.status if baseline_call is not None else None
        notes.append(f"Every probe answered 403/404 and GET /v2/time ({status}) did not tell why.")
        if base == Verdict.UNAVAILABLE:
            return report(Outcome.STORE_UNAVAILABLE, unknown_scopes(), [_unavailable_problem()])
        return report(Outcome.UNREACHABLE, unknown_scopes(), [_unreachable_problem([])])

    scopes = {scope: _scope_state(verdict) for scope, verdict in verdicts.items() if scope}
    missing = [scope for scope, state in scopes.items() if state == ScopeState.MISSING]
    unknown = [scope for scope, state in scopes.items() if state == ScopeState.UNKNOWN]
    if not missing and not unknown:
        return report(Outcome.CONNECTED, scopes, [])
    if missing:
        return report(Outcome.MISSING_SCOPES, scopes, [_missing_scopes_problem(missing, unknown)])
    if Verdict.UNAVAILABLE in verdicts.values() or base == Verdict.UNAVAILABLE:
        return report(Outcome.STORE_UNAVAILABLE, scopes, [_unavailable_problem()])
    return report(Outcome.UNREACHABLE, scopes, [_unreachable_problem(unknown)])


def _scope_state(verdict: Verdict) -> ScopeState:
    if verdict == Verdict.GRANTED:
        return ScopeState.GRANTED
    if verdict == Verdict.MISSING:
        return ScopeState.MISSING
    return ScopeState.UNKNOWN


def _exchanges(probe_calls: Answers, baseline_call: Call | None) -> list[Exchange]:
    exchanges = [baseline_call.exchange] if baseline_call is not None else []
    return exchanges + [call.exchange for _, call in probe_calls]


def _profile(probe_calls: Answers) -> tuple[dict[str, Any] | None, list[str]]:
    """The store profile's known fields from GET /v2/store, if it answered 2xx."""
    call = next((call for probe, call in probe_calls if probe is INFORMATION), None)
    if call is None or call.response is None or not 200 <= call.response.status < 300:
        return None, []
    try:
        data = json.loads(call.response.body)
    except (ValueError, UnicodeDecodeError):
        return None, ["GET /v2/store answered with a body that is not JSON; no store profile."]
    if not isinstance(data, dict):
        return None, ["GET /v2/store answered JSON that is not an object; no store profile."]
    return {key: data[key] for key in PROFILE_FIELDS if key in data}, []


def _surprises(probe_calls: Answers) -> list[str]:
    """Notes for staff about answers a healthy BigCommerce should never give."""
    notes = []
    for probe, call in probe_calls:
        status = call.status
        label = f"{probe.method} {call.exchange.path}"
        if probe.is_write and status is not None and 200 <= status < 300:
            logger.warning("bigcommerce %s accepted an invalid body (%s)", label, status)
            notes.append(f"{label} accepted a deliberately invalid body ({status}).")
        elif probe.interpret(status) == Verdict.UNEXPECTED:
            notes.append(f"{label} answered {status}, which the probe table does not explain.")
    return notes


# --- problems, in the merchant's words ---------------------------------------


def _invalid_token_problem(store_hash: str) -> Problem:
    return Problem(
        "access_token",
        "invalid_token",
        f"BigCommerce did not accept this access token for store {store_hash}. Copy the access "
        "token again from the API account (BigCommerce shows it only once: if you no longer "
        "have it, create a new API account), and check that the API path comes from the same "
        "account. If the API account was deleted, its token no longer works.",
    )


def _store_not_found_problem(store_hash: str) -> Problem:
    return Problem(
        "api_path",
        "store_not_found",
        f"BigCommerce has no store at this API path (store hash “{store_hash}”). Copy the API "
        "path again from your API account; it looks like "
        "https://api.bigcommerce.com/stores/abc123/v3/.",
    )


def _missing_scopes_problem(missing: list[str], unknown: list[str]) -> Problem:
    labels = ", ".join(scope_label(scope) for scope in missing)
    message = (
        f"This API account is missing: {labels}. BigCommerce does not let anyone change the "
        "scopes of a store-level API account once it exists, so create a new API account "
        "(Settings → API → Store-level API accounts) with these scopes, and paste its "
        "credentials here."
    )
    if unknown:
        unchecked = ", ".join(scope_label(scope) for scope in unknown)
        message += f" We could not check {unchecked} this time."
    return Problem("", "missing_scopes", message)


def _unavailable_problem() -> Problem:
    return Problem(
        "",
        "store_unavailable",
        "BigCommerce says your store is unavailable right now: down for maintenance, being "
        "upgraded, or suspended. Try again once it is back; if it is suspended, settle that "
        "with BigCommerce first.",
    )


def _unreachable_problem(unknown: list[str]) -> Problem:
    which = ", ".join(scope_label(scope) for scope in unknown) if unknown else "your API account"
    return Problem(
        "",
        "unreachable",
        f"We could not get a clear answer from BigCommerce about {which}. Nothing is known to "
        "be wrong with your credentials; try again in a few minutes.",
    )
