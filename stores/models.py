"""Stores, their credentials, the history of checks and of status changes."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from config.crypto import EncryptedTextField
from merchants.models import Merchant

from .incident_rule import IncidentKind
from .links import safe_web_url
from .status import StoreStatus

# The store profile (BigCommerce's `GET /v2/store`) fields kept in columns
# of their own, for lists and filters: BigCommerce's name → the column. The
# one list of them: the profile services, the check recording and the JSON
# API all read it from here.
PROFILE_COLUMNS = {
    "name": "name",
    "domain": "domain",
    "secure_url": "secure_url",
    "control_panel_base_url": "control_panel_url",
    "plan_name": "plan_name",
    "plan_level": "plan_level",
    "plan_is_trial": "plan_is_trial",
    "currency": "currency",
    "weight_units": "weight_units",
    "dimension_units": "dimension_units",
    "country_code": "country_code",
}


class Store(models.Model):
    """A merchant's BigCommerce store, as Violet sees it."""

    class Platform(models.TextChoices):
        BIGCOMMERCE = "bigcommerce", "BigCommerce"

    tenant_path = "merchant"

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="stores")
    # When the store last changed merchant (a disconnected store connected by
    # another merchant, a staff move); empty while it never has. The merchant
    # sees the store's history from this moment only; staff see all of it.
    merchant_since = models.DateTimeField(null=True, blank=True)
    platform = models.CharField(max_length=20, choices=Platform.choices, default=Platform.BIGCOMMERCE)
    store_hash = models.CharField(max_length=20, unique=True)

    # The profile, from GET /v2/store. The columns (PROFILE_COLUMNS) are what
    # lists and filters need; `profile` keeps every field BigCommerce returned.
    name = models.CharField(max_length=200, blank=True)
    domain = models.CharField(max_length=255, blank=True)
    secure_url = models.URLField(max_length=255, blank=True)
    control_panel_url = models.URLField(max_length=255, blank=True)
    plan_name = models.CharField(max_length=100, blank=True)
    plan_level = models.CharField(max_length=100, blank=True)
    plan_is_trial = models.BooleanField(null=True)
    currency = models.CharField(max_length=3, blank=True)
    weight_units = models.CharField(max_length=20, blank=True)
    dimension_units = models.CharField(max_length=20, blank=True)
    country_code = models.CharField(max_length=2, blank=True)
    profile = models.JSONField(default=dict, blank=True)
    profile_updated_at = models.DateTimeField(null=True, blank=True)

    status = models.CharField(
        max_length=20, choices=StoreStatus.choices, default=StoreStatus.PENDING, db_index=True
    )
    status_changed_at = models.DateTimeField(default=timezone.now)
    connected_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    last_checked_at = models.DateTimeField(null=True, blank=True)
    # How long the last check took (a healthy light check writes no Check row).
    last_check_ms = models.PositiveIntegerField(null=True, blank=True)
    # When a full check (every scope probe) last gave a clear answer about the
    # scopes; a light check (GET /v2/store alone) proves only token and store.
    scopes_verified_at = models.DateTimeField(null=True, blank=True)
    # When the scheduler should check next. While a check is in flight it
    # holds the claim's expiry, so a lost check comes due again by itself.
    next_check_at = models.DateTimeField(null=True, blank=True)
    # The claim: who may write the next check's result, until when.
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)

    # What the status rules remember between checks (see lifecycle.Streak).
    failure_count = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    suspected_status = models.CharField(max_length=20, choices=StoreStatus.choices, blank=True)
    suspected_since = models.DateTimeField(null=True, blank=True)
    # What is wrong, in the merchant's words, while the store is broken.
    problem = models.TextField(blank=True)
    missing_scopes = models.JSONField(default=list, blank=True)
    # The credentials' version: 0 while the store never had credentials, one
    # more each time credentials are stored (connect, replace; a reconnect
    # after a disconnect too). It never goes back, so "the credentials
    # changed" is exactly "the version changed": the credential release's
    # ETag and the `credentials_replaced` event carry it (docs/events.md).
    credentials_version = models.PositiveIntegerField(default=0)

    # When a traffic signal last queued this store's confirming check
    # (`services.traffic`): at most one such check per
    # TRAFFIC_SIGNAL_CHECK_INTERVAL_SECONDS, claimed by a conditional update.
    signal_check_at = models.DateTimeField(null=True, blank=True)

    # A reference store (a canary: Violet's own, or a merchant's with their
    # permission) is checked every minute; when it fails the way the fleet
    # does, a fleet-wide incident opens at once (stores.incident_rule).
    is_reference = models.BooleanField("reference store", default=False)
    # The open incident that holds this store's failure back (its status did
    # not flip); checked again, fully, when the incident closes.
    held_by = models.ForeignKey(
        "Incident", null=True, blank=True, on_delete=models.SET_NULL, related_name="held_stores"
    )

    class Meta:
        ordering = ["name", "store_hash"]
        indexes = [
            # The staff console's store list is ordered by name: a page of
            # 100 among 100,000 stores reads 100 index entries, not the table.
            models.Index(fields=["name", "store_hash"], name="store_name_idx"),
            # The dispatcher's claim: due stores in next-check order, skipping
            # those never checked (paused, disconnected).
            models.Index(
                fields=["next_check_at"],
                name="store_due_idx",
                condition=~models.Q(status__in=["paused", "disconnected"]),
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.store_hash

    def is_current_merchants(self, when) -> bool:
        """Whether something that happened at `when` belongs to the store's
        current merchant's history (after the store came to it)."""
        return self.merchant_since is None or when >= self.merchant_since

    @property
    def display_name(self) -> str:
        return self.name or f"Store {self.store_hash}"

    # The profile's links, checked again where they are drawn (stores.links).
    @property
    def storefront_link(self) -> str:
        return safe_web_url(self.secure_url)

    @property
    def control_panel_link(self) -> str:
        return safe_web_url(self.control_panel_url)


class CredentialQuerySet(models.QuerySet):
    def fingerprints_only(self) -> CredentialQuerySet:
        """Load a credential without decrypting anything (for lists and pages)."""
        return self.defer(*Credential.SECRET_FIELDS)


class Credential(models.Model):
    """The Store-level API account values, encrypted at rest.

    Only the last four characters of each value are kept in clear, so people
    can tell credentials apart ("token ending in …x1y2").
    """

    SECRET_FIELDS = ("client_id", "client_secret", "access_token")
    tenant_path = "store__merchant"

    store = models.OneToOneField(Store, on_delete=models.CASCADE, related_name="credential")
    client_id = EncryptedTextField(blank=True)
    client_secret = EncryptedTextField(blank=True)
    access_token = EncryptedTextField()
    client_id_last4 = models.CharField(max_length=4, blank=True)
    client_secret_last4 = models.CharField(max_length=4, blank=True)
    access_token_last4 = models.CharField(max_length=4)
    created_at = models.DateTimeField(default=timezone.now)
    # When a webhook delivery BigCommerce signed with this Client secret was
    # first verified (see storehooks): the only proof that the secret is right.
    # A time before `created_at` proved the credentials these replaced.
    client_secret_verified_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = CredentialQuerySet.as_manager()

    def __str__(self) -> str:
        return f"Credentials for {self.store_id}: token ending in …{self.access_token_last4}"

    def __repr__(self) -> str:
        return f"<Credential store={self.store_id} token=…{self.access_token_last4}>"

    @sensitive_variables("client_id", "client_secret", "access_token")
    def set_values(self, *, client_id: str, client_secret: str, access_token: str) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.access_token = access_token
        self.client_id_last4 = client_id[-4:]
        self.client_secret_last4 = client_secret[-4:]
        self.access_token_last4 = access_token[-4:]


class Check(models.Model):
    """One validation of a store's credentials, kept as history and evidence."""

    class Trigger(models.TextChoices):
        ONBOARDING = "onboarding", "Onboarding"
        SCHEDULE = "schedule", "Schedule"
        MERCHANT = "merchant", "Merchant (check now)"
        STAFF = "staff", "Staff"
        CONFIRMATION = "confirmation", "Confirmation re-check"
        REPLACE = "replace", "Credentials replaced"
        WEBHOOK = "webhook", "Webhook"
        API = "api", "JSON API"
        SIGNAL = "signal", "Traffic signal"

    class Kind(models.TextChoices):
        FULL = "full", "Full (every scope)"
        LIGHT = "light", "Light (token and store)"

    tenant_path = "store__merchant"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="checks")
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    kind = models.CharField(max_length=5, choices=Kind.choices, default=Kind.FULL)
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    # The report's outcome: connected, missing_scopes, invalid_token, ...
    outcome = models.CharField(max_length=20)
    # {scope parameter: granted | missing | unknown}
    scopes = models.JSONField(default=dict)
    problems = models.JSONField(default=list)
    # The HTTP exchanges (method, path, status, timing, rate limits): no secrets.
    evidence = models.JSONField(default=list)

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["store", "-started_at"], name="check_store_recent_idx"),
            # Checks per hour on the fleet overview, and the staff's check list.
            models.Index(fields=["-started_at"], name="check_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.store_id} {self.outcome} at {self.started_at:%Y-%m-%d %H:%M}"


class StatusChange(models.Model):
    """A store's status flipped. Written in the same transaction as the new status;
    notifications are sent later from these rows (`processed_at` claims them)."""

    tenant_path = "store__merchant"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="status_changes")
    old_status = models.CharField(max_length=20, choices=StoreStatus.choices)
    new_status = models.CharField(max_length=20, choices=StoreStatus.choices)
    # Why, for staff: a pause's reason is staff's own words ("testing pause").
    reason = models.TextField(blank=True)
    # What the merchant reads about a change staff made (a pause): written for
    # them, optional; without it they read PAUSED_FOR_MERCHANT. See reason_for_merchant.
    public_reason = models.CharField("message for the merchant", max_length=300, blank=True)
    check_run = models.ForeignKey(
        Check, null=True, blank=True, on_delete=models.SET_NULL, related_name="status_changes"
    )
    created_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["store", "-created_at"], name="statuschange_store_recent_idx"),
            models.Index(
                fields=["created_at"],
                name="statuschange_unprocessed_idx",
                condition=models.Q(processed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.store_id}: {self.old_status} → {self.new_status}"

    PAUSED_FOR_MERCHANT = "Violet staff paused the checks of this store."

    @property
    def reason_for_merchant(self) -> str:
        """The reason a merchant may read. A pause's `reason` is staff's note, never
        shown: the merchant reads the public message staff wrote, or a neutral sentence."""
        if self.new_status == StoreStatus.PAUSED:
            return self.public_reason or self.PAUSED_FOR_MERCHANT
        return self.reason


class CurrentTransactionId(models.Func):
    """The writing transaction's id, as a number: PostgreSQL's
    `pg_current_xact_id()` (64 bits, never wraps). The event feed reads only
    rows whose transaction is below every running one (`stores.events`).
    Elsewhere (SQLite: one writer at a time, so rows commit in id order) 0,
    and the feed's order is the id's."""

    output_field = models.BigIntegerField()
    template = "0"

    def as_postgresql(self, compiler, connection, **extra_context):
        return "pg_current_xact_id()::text::bigint", []


class StoreEvent(models.Model):
    """Something happened to a store that Violet's services follow (the event
    feed, and webhook endpoints that subscribe to it). Written by the service
    that makes the change, in its transaction: no change without its event, no
    event without its change. The payload never holds a secret.

    `txid` orders the feed (see `stores.events`); `merchant_id` is the store's
    merchant when it happened (a moved store's older events keep the old one).
    """

    class Kind(models.TextChoices):
        CONNECTED = "connected", "Connected"
        CREDENTIALS_REPLACED = "credentials_replaced", "Credentials replaced"
        STATUS_CHANGED = "status_changed", "Status changed"
        SCOPES_CHANGED = "scopes_changed", "Scopes changed"
        DISCONNECTED = "disconnected", "Disconnected"
        MOVED = "moved", "Moved to another merchant"

    # Not tenant-owned (no `tenant_path`): an event belongs to the merchant of
    # its time (`merchant_id`), not to whoever has the store now.
    kind = models.CharField(max_length=30, choices=Kind.choices)
    store = models.ForeignKey(Store, null=True, on_delete=models.SET_NULL, related_name="events")
    store_hash = models.CharField(max_length=20)
    merchant_id = models.BigIntegerField()
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    txid = models.BigIntegerField(db_default=CurrentTransactionId(), editable=False)

    class Meta:
        ordering = ["txid", "id"]
        indexes = [
            models.Index(fields=["txid", "id"], name="storeevent_feed_idx"),
            models.Index(fields=["created_at"], name="storeevent_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.store_hash}: {self.kind}"


class StoreEventHorizon(models.Model):
    """How far the event feed was pruned: every event at or before this
    position (txid, event id) is gone. One row (pk 1), moved forward in the
    same transaction as each batch of deletions, under its row lock. A reader
    whose cursor is before it missed events and must start over (the feed
    answers 410)."""

    txid = models.BigIntegerField()
    event_id = models.BigIntegerField()
    # How many events were pruned, in all.
    deleted = models.PositiveBigIntegerField(default=0)
    pruned_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"pruned through ({self.txid}, {self.event_id})"


class Incident(models.Model):
    """A fleet-wide failure of one kind (BigCommerce's or Violet's), during
    which that kind flips no store's status and tells no merchant.

    Opened by the rule (`stores.incident_rule`) from the recording path,
    closed by the review task when the kind's failures fall back to normal, or
    by Operations. At most one is open per kind (a partial unique index: two
    workers opening one at once make one)."""

    kind = models.CharField(max_length=20, choices=[(kind.value, kind.value) for kind in IncidentKind])
    opened_at = models.DateTimeField(default=timezone.now)
    # What the rule saw, for staff: counts, share, normal share, references.
    reason = models.TextField()
    by_reference = models.BooleanField(default=False)
    stores_at_open = models.PositiveIntegerField(default=0)
    checks_at_open = models.PositiveIntegerField(default=0)
    # A few answers, as checks recorded them (status codes and BigCommerce's
    # words; never a secret: checks' evidence holds none).
    examples = models.JSONField(default=list, blank=True)
    # Stores whose failure it held back, and held checks, counted as they come.
    held_stores_count = models.PositiveIntegerField(default=0)
    held_checks_count = models.PositiveIntegerField(default=0)
    closed_at = models.DateTimeField(null=True, blank=True)
    close_reason = models.TextField(blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Notifications planned (claimed by notifications' dispatcher, once each).
    opening_announced_at = models.DateTimeField(null=True, blank=True)
    closing_announced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind"], condition=models.Q(closed_at__isnull=True), name="incident_one_open_per_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} incident since {self.opened_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class CheckTally(models.Model):
    """How many checks of each sort were recorded in one minute: the fleet's
    counts the incident rule reads (`stores.incident_rule` names the keys).
    Added to after each batch commits, one statement per batch."""

    minute = models.DateTimeField()
    key = models.CharField(max_length=40)
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["minute", "key"], name="checktally_one_per_minute_key")]

    def __str__(self) -> str:
        return f"{self.minute:%Y-%m-%d %H:%M} {self.key}: {self.count}"


class TrafficSignal(models.Model):
    """An answer BigCommerce gave Violet's own traffic for this store that the
    check rules call definitive (`stores.traffic_rule`): seen by the proxy or
    reported by a service. It flips nothing: it queued the confirming check
    (`queued_check`) unless one had been queued within
    TRAFFIC_SIGNAL_CHECK_INTERVAL_SECONDS, the store is not checked (paused,
    disconnected) or its status already says so. Kept
    TRAFFIC_SIGNAL_RETENTION_DAYS. No secret: path and BigCommerce's words only.
    """

    class Via(models.TextChoices):
        PROXY = "proxy", "Proxy"
        REPORT = "report", "Reported by a service"

    class Kind(models.TextChoices):
        INVALID_TOKEN = "invalid_token", "401: the Access token was refused"
        MISSING_SCOPE = "missing_scope", "403: a required scope is missing"
        STORE_NOT_FOUND = "store_not_found", "404: the store is unknown"

    tenant_path = "store__merchant"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="traffic_signals")
    # The service that saw it (empty: a staff API token reported it).
    client = models.ForeignKey(
        "api.ServiceClient", null=True, blank=True, on_delete=models.SET_NULL, related_name="traffic_signals"
    )
    via = models.CharField(max_length=10, choices=Via.choices)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.PositiveSmallIntegerField()
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    excerpt = models.CharField(max_length=300, blank=True)
    queued_check = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["store", "-created_at"], name="trafficsignal_store_recent_idx"),
            models.Index(fields=["created_at"], name="trafficsignal_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.store_id}: {self.kind} on {self.method} {self.path}"
