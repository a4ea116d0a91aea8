"""What one customer's screens read, in as few requests as the keys allow (issue 23, decision 0027).

The flags answer (services/flags.py) needs the profile, the signal log, 60 metric days, the workspace's
forecast categories, the renewals, the standing success-plan risk signals and the contacts. Read one by
one that is 7 requests; here it is three, each bounded by the customer, never by the workspace:

- one BatchGetItem by key: the profile, the signal log, the metric days and the forecast settings (at
  most 100 keys: 60 days + 3), and the current health model when this container has not cached it;
- one Query of the customer's partition from `RENEWAL#` to `RISK#…`: its renewals, the rescoring marker
  (`RESCORE`, skipped) and its risk signals, which sort next to each other;
- the contacts' Query (storage/contacts.list_contacts).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from keepwell.domain.customers import Customer
from keepwell.domain.health.model import HealthModel
from keepwell.domain.renewals import DEFAULT_FORECAST, ForecastSettings, Renewal
from keepwell.domain.signal_log import SignalLog
from keepwell.storage import health_models, keys
from keepwell.storage.customers import to_customer
from keepwell.storage.metrics import DailyMetrics, batch_get_raw, metrics_of_raw
from keepwell.storage.models import CustomerItem, TableItem
from keepwell.storage.renewals import RenewalItem, RenewalSettingsItem, to_renewal
from keepwell.storage.signal_logs import SignalLogItem, log_of_item
from keepwell.storage.success_plans import RiskSignal, RiskSignalItem

_RISK_END = keys.RISK_PREFIX[:-1] + chr(ord(keys.RISK_PREFIX[-1]) + 1)  # "RISK$": after every "RISK#…"


@dataclass(frozen=True)
class ProfileReads:
    """The profile (None: no such customer) and what was read with it by key."""

    customer: Customer | None
    model: HealthModel  # the workspace's current health model
    signal_log: SignalLog = field(default_factory=SignalLog)
    days: dict[date, DailyMetrics] = field(default_factory=dict)
    forecast: ForecastSettings = DEFAULT_FORECAST


def read_profile_with_inputs(workspace_id: str, customer_id: str, days: Sequence[date]) -> ProfileReads:
    """The profile, signal log, the given metric days (absent: no usage), the forecast settings and the
    current health model (from this container's cache, else in the same request), in one consistent
    BatchGetItem."""
    profile_key = keys.customer(workspace_id, customer_id)
    log_key = keys.signal_log(workspace_id, customer_id)
    settings_key = keys.renewal_settings(workspace_id)
    wanted = [profile_key, log_key, settings_key] + [keys.daily_metrics(workspace_id, customer_id, d) for d in days]
    cached = health_models.cached_current(workspace_id)  # the competitors
    model_key = None if cached is not None else keys.current_health_model(workspace_id)
    model_raw: dict[str, Any] | None = None
    customer: Customer | None = None
    log = SignalLog()
    found_days: dict[date, DailyMetrics] = {}
    forecast = DEFAULT_FORECAST
    for raw in batch_get_raw(wanted + ([model_key] if model_key else []), consistent=True):
        pk, sk = raw["pk"]["S"], raw["sk"]["S"]
        if (pk, sk) == (profile_key.pk, profile_key.sk):
            customer = to_customer(CustomerItem.from_raw_data(raw))
        elif (pk, sk) == (log_key.pk, log_key.sk):
            log = log_of_item(SignalLogItem.from_raw_data(raw))
        elif (pk, sk) == (settings_key.pk, settings_key.sk):
            forecast = ForecastSettings.model_validate_json(RenewalSettingsItem.from_raw_data(raw).document)
        elif model_key is not None and (pk, sk) == (model_key.pk, model_key.sk):
            model_raw = raw
        else:
            metrics = metrics_of_raw(raw)
            found_days[metrics.day] = metrics
    model = cached if cached is not None else health_models.remember_current(workspace_id, model_raw)
    return ProfileReads(customer, model.model, log, found_days, forecast)


def metric_days_in_range(workspace_id: str, customer_id: str, first: date, last: date) -> dict[date, DailyMetrics]:
    """The customer's metric days from `first` to `last` (absent: no usage), in one consistent Query of its
    partition (`METRICS#<first>` to `METRICS#<last>`, paged past 1 MB). A Query is billed by the total size
    of what it reads, rounded up to 4 KB (60 days of ~1 KB: ~15 read units), where a BatchGetItem of their
    keys is billed per key, found or not (60 read units): the stored flags read them this way after every
    daily score, one more request for a fifth of the units (docs/cost.md)."""
    pk = keys.customer_partition(workspace_id, customer_id)
    low, high = (
        keys.daily_metrics(workspace_id, customer_id, first).sk,
        keys.daily_metrics(workspace_id, customer_id, last).sk,
    )
    connection = TableItem._get_connection()
    found: dict[date, DailyMetrics] = {}
    start: dict[str, Any] | None = None
    while True:
        page = connection.query(
            pk, range_key_condition=TableItem.sk.between(low, high), consistent_read=True, exclusive_start_key=start
        )
        for raw in page.get("Items", []):
            metrics = metrics_of_raw(raw)
            found[metrics.day] = metrics
        start = page.get("LastEvaluatedKey")
        if not start:
            return found


def renewals_and_risk_signals(workspace_id: str, customer_id: str) -> tuple[list[Renewal], list[RiskSignal]]:
    """The customer's renewals by renewal date (as storage/renewals.list_customer_renewals) and its
    standing risk signals by key (as storage/success_plans.list_risk_signals), in one consistent Query."""
    pk = keys.customer_partition(workspace_id, customer_id)
    connection = TableItem._get_connection()
    condition = TableItem.sk.between(keys.RENEWAL_PREFIX, _RISK_END)
    renewals: list[Renewal] = []
    signals: list[RiskSignal] = []
    start: dict[str, Any] | None = None
    while True:
        page = connection.query(pk, range_key_condition=condition, consistent_read=True, exclusive_start_key=start)
        for raw in page.get("Items", []):
            sk = raw["sk"]["S"]
            if sk.startswith(keys.RENEWAL_PREFIX):
                renewals.append(to_renewal(RenewalItem.from_raw_data(raw)))
            elif sk.startswith(keys.RISK_PREFIX):
                item = RiskSignalItem.from_raw_data(raw)
                signals.append(RiskSignal(item.kind, item.ref, item.raised_on, item.title, json.loads(item.evidence)))
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    renewals.sort(key=lambda r: (r.renewal_date, r.product or "", r.renewal_id))
    return renewals, signals
