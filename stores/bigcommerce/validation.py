"""Live validation of one store-level API account: which scopes does it have?

`validate()` fires the six scope probes (plus, at onboarding, the baseline
`GET /v2/time`) all at once, so the answer takes about one round trip, and
turns the answers into a `Report`.

What the answers mean is written down with its sources in
`docs/bigcommerce/answers.json` (observed, documented or assumed) and in the
README's "How a check decides". Two things are NOT assumed: that `/v2/time`
needs no scope (observed, but BigCommerce's docs list it under Information &
settings), and how BigCommerce answers an unknown store hash (undocumented).

A "refusal" is a 403 or 404 on a probe, or the scope error on a 401. Outcome
precedence (first match wins):

0. `rate_limited`: some call stopped on the store's spent API quota, whose
   reset lay past the check's deadline (the client waits any reset that fits).
   The check did not finish: never a credential verdict.
1. `invalid_token`: any 401 that is not the scope error's older wording
   (`wordings.SCOPE_ERRORS`), on a probe or on the baseline. Its message says
   the Access token OR the store hash may be wrong (an unknown store hash may
   answer 401: undocumented).
2. `store_not_found`, only on positive evidence, when no probe proved the
   store exists: the baseline answered 404; or all six probes answered 403/404
   and neither they nor the baseline gave BigCommerce's scope error.
3. When every probe that answered refused and the baseline did not prove the
   store exists: `store_unavailable` if the baseline answered 503,
   `unreachable` if it gave no usable answer, otherwise
   `credentials_rejected` — refused everywhere, some with the scope error, so
   a wrong token or store hash cannot be told from an account with no scope at
   all (the baseline's own 403 may be a scope error once BigCommerce enforces
   its docs): never a confident "missing scopes".
4. `connected`: all six scopes granted (whatever the baseline said).
5. `missing_scopes`: at least one 403 with the scope error on a probe. A
   missing scope is a lasting property of the API account, so it outranks
   answers that pass by themselves (503, timeouts); scopes that could not be
   checked stay unknown.
6. `plan_limit`: a 507 on a probe: the store is at a limit of its plan
   (documented: e.g. its product cap). Lasting, not "try again".
7. `forbidden`: a 403 without the scope error on a probe: BigCommerce refused
   for another reason (its words are kept in the exchange's `detail` and the
   notes, for staff). A new API account would not help.
8. `store_unavailable`: the store's 503: on `/v2/time` or `/v2/store`, or a
   body that says maintenance or suspended. Another probe's 503 (one service
   degraded or down) leaves that scope unknown for now (`unreachable`).
9. `unreachable`: some scope is unknown (timeouts, resets, 5xx or 429 after
   the retries, one service's 503, a write's 404 about the store or route
   rather than a resource, or an answer the probe table cannot interpret).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson

from .client import (
    RATE_LIMITED,
    BigCommerceClient,
    Call,
    RequestsTransport,
    Transport,
    is_valid_access_token,
    is_valid_store_hash,
)
from .probes import BASELINE, INFORMATION, PROBES, Probe, Verdict, is_scope_error
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
from .storable import storable

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


def _verdict(probe: Probe, call: Call) -> Verdict:
    if call.exchange.error == RATE_LIMITED:
        return Verdict.RATE_LIMITED
    return probe.interpret(call.status, call.response.body if call.response is not None else None)


def _refusals(probe_calls: Answers) -> tuple[bool, bool]:
    """(only refused, every answer refused), refusals being 403/404 answers.

    "Only refused": no probe answered anything but 403/404 (true when none
    answered at all). "Every answer refused": that, and some probe answered.
    Passing failures (no answer, 429, 5xx, one service's 503, a spent quota)
    do not count as answers.
    """
    refused = [
        _is_refusal(call, verdict)
        for probe, call in probe_calls
        if call.status is not None and (verdict := _verdict(probe, call)) not in PASSING
    ]
    only_refused = all(refused)
    return only_refused, only_refused and bool(refused)


PASSING = frozenset({Verdict.TRANSIENT, Verdict.RATE_LIMITED})


def _is_refusal(call: Call, verdict: Verdict) -> bool:
    return call.status in NOT_FOUND_STATUSES or verdict == Verdict.MISSING


def _needs_baseline(probe_calls: Answers) -> bool:
    """Every answer was 403/404: a wrong store hash, or no scopes at all?"""
    return _refusals(probe_calls)[1]


def _scope_error_in(calls: list[Call]) -> bool:
    return any(
        call.status in (401, 403) and is_scope_error(call.response.body if call.response else None)
        for call in calls
    )


def _no_store_evidence(probe_calls: Answers, baseline_call: Call | None, base: Verdict | None) -> bool:
    """Positive evidence that BigCommerce has no store at this hash.

    A 404 on the baseline (`/v2/time` exists on every store), or 403/404 on
    every one of the six probes with no scope error there nor on the baseline.
    Never a scope-error 403 on the baseline: that is what a docs-conformant
    `/v2/time` answers a token without the Information & settings scope.
    """
    only_refused, _ = _refusals(probe_calls)
    if not only_refused:
        return False
    if base == Verdict.NOT_FOUND:
        return True
    every_probe_refused = all(_is_refusal(call, _verdict(probe, call)) for probe, call in probe_calls)
    calls = [call for _, call in probe_calls] + ([baseline_call] if baseline_call is not None else [])
    return every_probe_refused and base != Verdict.GRANTED and not _scope_error_in(calls)


def conclude(store_hash: str, probe_calls: Answers, baseline_call: Call | None) -> Report:
    """Turn the probes' (and maybe the baseline's) answers into a Report."""
    verdicts = {probe.scope: _verdict(probe, call) for probe, call in probe_calls}
    base = _verdict(BASELINE, baseline_call) if baseline_call is not None else None
    exchanges = _exchanges(probe_calls, baseline_call)
    _, every_answer_refused = _refusals(probe_calls)
    store, notes = _profile(probe_calls)
    notes += _surprises(probe_calls, baseline_call)

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

    if Verdict.RATE_LIMITED in verdicts.values() or base == Verdict.RATE_LIMITED:
        scopes = {scope: _scope_state(verdict) for scope, verdict in verdicts.items() if scope}
        return report(Outcome.RATE_LIMITED, scopes, [_rate_limited_problem()])
    if Verdict.INVALID_TOKEN in verdicts.values() or base == Verdict.INVALID_TOKEN:
        return report(Outcome.INVALID_TOKEN, unknown_scopes(), [_invalid_token_problem(store_hash)])
    if _no_store_evidence(probe_calls, baseline_call, base):
        problem = _store_not_found_problem(store_hash)
        return report(Outcome.STORE_NOT_FOUND, unknown_scopes(), [problem])
    if every_answer_refused and base != Verdict.GRANTED:
        status = baseline_call.status if baseline_call is not None else None
        notes.append(f"Every probe answered 403/404 and GET /v2/time ({status}) did not tell why.")
        if base == Verdict.UNAVAILABLE:
            return report(Outcome.STORE_UNAVAILABLE, unknown_scopes(), [_unavailable_problem()])
        if base in (Verdict.MISSING, Verdict.FORBIDDEN):
            problem = _credentials_rejected_problem(store_hash)
            return report(Outcome.CREDENTIALS_REJECTED, unknown_scopes(), [problem])
        return report(Outcome.UNREACHABLE, unknown_scopes(), [_unreachable_problem([])])

    scopes = {scope: _scope_state(verdict) for scope, verdict in verdicts.items() if scope}
    missing = [scope for scope, state in scopes.items() if state == ScopeState.MISSING]
    forbidden = [scope for scope, verdict in verdicts.items() if scope and verdict == Verdict.FORBIDDEN]
    unknown = [scope for scope, state in scopes.items() if state == ScopeState.UNKNOWN]
    if not missing and not unknown:
        return report(Outcome.CONNECTED, scopes, [])
    if missing:
        return report(Outcome.MISSING_SCOPES, scopes, [_missing_scopes_problem(missing, unknown)])
    plan_limited = [scope for scope, verdict in verdicts.items() if scope and verdict == Verdict.PLAN_LIMIT]
    if plan_limited:
        return report(Outcome.PLAN_LIMIT, scopes, [_plan_limit_problem(plan_limited)])
    if forbidden:
        return report(Outcome.FORBIDDEN, scopes, [_forbidden_problem(forbidden)])
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
        data = orjson.loads(call.response.body)
    except (ValueError, UnicodeDecodeError):
        return None, ["GET /v2/store answered with a body that is not JSON; no store profile."]
    if not isinstance(data, dict):
        return None, ["GET /v2/store answered JSON that is not an object; no store profile."]
    # Outside data: made storable here, where it enters (`storable`).
    return storable({key: data[key] for key in PROFILE_FIELDS if key in data}), []


def _surprises(probe_calls: Answers, baseline_call: Call | None) -> list[str]:
    """Notes for staff: answers a healthy BigCommerce should never give, and
    403s that are not the scope error, with BigCommerce's own words."""
    notes = []
    answers = probe_calls + ([(BASELINE, baseline_call)] if baseline_call is not None else [])
    for probe, call in answers:
        status = call.status
        label = f"{probe.method} {call.exchange.path}"
        verdict = _verdict(probe, call)
        if probe.is_write and status is not None and 200 <= status < 300:
            logger.warning("bigcommerce %s accepted an invalid body (%s)", label, status)
            notes.append(f"{label} accepted a deliberately invalid body ({status}).")
        elif verdict == Verdict.FORBIDDEN:
            said = call.exchange.detail or "no error text"
            notes.append(f"{label} answered 403 without BigCommerce's scope error: “{said}”.")
        elif status == 503 and verdict == Verdict.TRANSIENT:
            said = call.exchange.detail or "no error text"
            notes.append(f"{label} answered 503 for one service, not the store (“{said}”): unknown for now.")
        elif status == 404 and verdict == Verdict.NOT_FOUND and probe.scope is not None:
            said = call.exchange.detail or "no error text"
            notes.append(f"{label} answered 404 about the store or the route (“{said}”), not a grant.")
        elif status == 507:
            said = call.exchange.detail or "no error text"
            notes.append(f"{label} answered 507, a limit of the store's plan: “{said}”.")
        elif verdict == Verdict.UNEXPECTED and probe.scope is not None:
            notes.append(f"{label} answered {status}, which the probe table does not explain.")
    return notes


# --- problems, in the merchant's words ---------------------------------------


def _invalid_token_problem(store_hash: str) -> Problem:
    return Problem(
        "access_token",
        "invalid_token",
        f"BigCommerce did not accept this access token for store {store_hash}: the Access token "
        "or the store hash in the API path is wrong. Copy the access token and the API path "
        "again from the same API account (BigCommerce shows the token only once: if you no "
        "longer have it, create a new API account). If the API account was deleted, its token "
        "no longer works.",
    )


def _store_not_found_problem(store_hash: str) -> Problem:
    return Problem(
        "api_path",
        "store_not_found",
        f"BigCommerce has no store at this API path (store hash “{store_hash}”). Copy the API "
        "path again from your API account; it looks like "
        "https://api.bigcommerce.com/stores/abc123/v3/.",
    )


def _credentials_rejected_problem(store_hash: str) -> Problem:
    return Problem(
        "api_path",
        "credentials_rejected",
        f"BigCommerce refused every request for store {store_hash} without saying why: the Access "
        "token or the store hash in the API path is wrong (or this API account has no scopes at "
        "all). Copy the access token and the API path again from the same API account; if they "
        "are right, check the account's scopes in Settings → API → Store-level API accounts.",
    )


def _forbidden_problem(forbidden: list[str]) -> Problem:
    labels = ", ".join(scope_label(scope) for scope in forbidden)
    return Problem(
        "",
        "forbidden",
        f"BigCommerce refused this request for another reason than a missing scope (checking "
        f"{labels}). A new API account would not help. Check that the API path you pasted has "
        "no extra characters after /v3/, and that the store owner's BigCommerce account is in "
        "good standing (billing, permissions); then try again in a few minutes. If it keeps "
        "happening, write to support@violet.io: Violet staff can see BigCommerce's own answer.",
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


PLAN_LIMIT_LEAD = "BigCommerce says your store has reached a limit of its plan"


def _plan_limit_problem(scopes: list[str]) -> Problem:
    labels = ", ".join(scope_label(scope) for scope in scopes)
    return Problem(
        "",
        "plan_limit",
        f"{PLAN_LIMIT_LEAD} (checking {labels}): for "
        "example the number of products or customers your plan allows. Your credentials are fine, "
        "and this will not pass by itself: remove what is over the limit or move to a plan with a "
        "higher one in your BigCommerce control panel, then check again.",
    )


def _rate_limited_problem() -> Problem:
    return Problem(
        "",
        "rate_limited",
        "BigCommerce's rate limit for your store is used up right now (every app and API account "
        "on the store shares it), so the check could not finish. Nothing is known to be wrong with "
        "your credentials; we try again later, or try again in a minute.",
    )


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
