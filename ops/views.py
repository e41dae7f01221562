import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import checks
from . import metrics as metrics_module


@never_cache
@require_GET
def live(request: HttpRequest) -> JsonResponse:
    """The process is up and answers: nothing else is asked (a liveness probe)."""
    return JsonResponse({"ok": True})


@never_cache
@require_GET
def ready(request: HttpRequest) -> JsonResponse:
    """For load balancers: the database and the broker answer (200), or which does not
    (503). Cached for HEALTH_READY_CACHE_SECONDS per process, so a probe storm costs
    one round trip each; names no worker, no schedule."""
    report = checks.readiness()
    return JsonResponse(report, status=200 if report["ok"] else 503)


@never_cache
@require_GET
def health(request: HttpRequest) -> HttpResponse:
    """For on-call: readiness plus beat and the live workers' names (a ping of every
    worker: slow). Behind METRICS_TOKEN when it is set, or a staff session."""
    if not _may_read_operations(request):
        return _unauthorized()
    report = checks.health()
    return JsonResponse(report, status=200 if report["ok"] else 503)


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not _may_read_operations(request, staff=False):
        return _unauthorized()
    body, content_type = metrics_module.exposition(accept=request.headers.get("Accept", ""))
    return HttpResponse(body, content_type=content_type)


def _may_read_operations(request: HttpRequest, *, staff: bool = True) -> bool:
    """METRICS_TOKEN as a bearer token when it is set (else open, as in development),
    or (with `staff`) a staff member signed in with their second factor."""
    token = settings.METRICS_TOKEN
    if not token:
        return True
    given = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if hmac.compare_digest(given.encode(), token.encode()):
        return True
    user = getattr(request, "user", None)
    return staff and bool(user and user.is_staff and user.is_active and getattr(user, "is_verified", bool)())


def _unauthorized() -> HttpResponse:
    return HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
