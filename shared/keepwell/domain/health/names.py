"""The health engine's vocabulary: the standard dimensions and the metrics each one scores, by name.

A leaf module (it imports nothing of the engine): the model's validation, the expression language and
the dimension calculations all read these names, so none of them has to import another for them."""

from __future__ import annotations

from dataclasses import dataclass

USAGE, ENGAGEMENT, SUPPORT, SENTIMENT = "usage", "engagement", "support", "sentiment"
PAYMENT, RELATIONSHIP, CONTRACT = "payment", "relationship", "contract"
STANDARD_DIMENSIONS: tuple[str, ...] = (
    USAGE,
    ENGAGEMENT,
    SUPPORT,
    SENTIMENT,
    PAYMENT,
    RELATIONSHIP,
    CONTRACT,
)


@dataclass(frozen=True, slots=True)
class Metric:
    dimension: str
    template: str  # {v} raw value, {p} value x 100, {dir} "at" / "down to" / "up to", {w} window days
    boolean: tuple[str, str] | None = None  # (text when true, text when false)


METRICS: dict[str, Metric] = {
    "logins_per_seat_week": Metric(USAGE, "logins per seat {dir} {v:.1f}/week"),
    "distinct_features": Metric(USAGE, "{v:.0f} distinct features used in the last {w} days"),
    "dau_mau": Metric(USAGE, "DAU/MAU {dir} {p:.0f}%"),
    "new_feature_adoption_pct": Metric(USAGE, "new-feature adoption {dir} {v:.0f}%"),
    "emails_in_per_week": Metric(ENGAGEMENT, "{v:.1f} customer emails/week"),
    "emails_out_per_week": Metric(ENGAGEMENT, "{v:.1f} CSM emails/week"),
    "meetings": Metric(ENGAGEMENT, "{v:.0f} meetings in the last {w} days"),
    "meeting_minutes": Metric(ENGAGEMENT, "{v:.0f} meeting minutes in the last {w} days"),
    "proactive_reply_rate_pct": Metric(ENGAGEMENT, "reply rate to proactive emails {dir} {v:.0f}%"),
    "champion_response_hours": Metric(ENGAGEMENT, "champion answers in {v:.0f} h on average"),
    "open_tickets": Metric(SUPPORT, "{v:.0f} tickets open or pending"),
    "resolution_hours": Metric(SUPPORT, "tickets take {v:.0f} h to resolve on average"),
    "critical_high_pct": Metric(SUPPORT, "{v:.0f}% of recent tickets are high/critical"),
    "escalations": Metric(SUPPORT, "{v:.0f} escalated tickets in the last {w} days"),
    "email_tone": Metric(SENTIMENT, "email tone {dir} {v:+.2f} (VADER, last 30 days)"),
    "nps": Metric(SENTIMENT, "latest NPS answer {v:.0f}/10"),
    "days_to_pay": Metric(PAYMENT, "invoices paid in {v:.0f} days on average"),
    "overdue_invoices": Metric(PAYMENT, "{v:.0f} overdue invoices"),
    "contacts": Metric(RELATIONSHIP, "{v:.0f} contacts known"),
    "champion_identified": Metric(RELATIONSHIP, "", ("champion identified", "no champion identified")),
    "contact_roles": Metric(RELATIONSHIP, "contacts cover {v:.0f} of 3 levels (executive, manager, practitioner)"),
    "qbr_recent": Metric(RELATIONSHIP, "", ("QBR held in the last 120 days", "no QBR in the last 120 days")),
    "auto_renew": Metric(CONTRACT, "", ("contract auto-renews", "contract does not auto-renew")),
    "renewal_runway_days": Metric(CONTRACT, "renewal in {v:.0f} days"),
    "expansions": Metric(CONTRACT, "{v:.0f} expansions in the contract history"),
    "contractions": Metric(CONTRACT, "{v:.0f} contractions in the contract history"),
}
# Raw inputs exposed to expressions that are not scored metrics themselves.
EXTRA_METRICS = frozenset({"seats", "keyword_hits", "days_to_renewal", "critical_open_tickets"})
# Capability adoption (domain/capabilities.expression_variables), present when the workspace tracks
# capabilities; `capability_<key>` (1 adopted, else 0) is usable once declared in the model's variables.
CAPABILITY_VARIABLES = frozenset({"capabilities_adopted", "capabilities_lapsed", "capabilities_tracked"})
EXTRA_METRICS = EXTRA_METRICS | CAPABILITY_VARIABLES
METRIC_NAMES: frozenset[str] = frozenset(METRICS) | EXTRA_METRICS
