import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import checks
from . import metrics as metrics_module


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """For load balancers and on-call: 200 when healthy, 503 with what is not."""
    report = checks.health()
    return JsonResponse(report, status=200 if report["ok"] else 503)


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if not hmac.compare_digest(given.encode(), token.encode()):
            return HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
    body, content_type = metrics_module.exposition(accept=request.headers.get("Accept", ""))
    return HttpResponse(body, content_type=content_type)
