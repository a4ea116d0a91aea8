"""Request and response bodies of the renewal, churn, flags, scores, upsell and revenue routes.

Bodies are strict and forbid unknown fields (a read-only or misspelt field is a 400 naming it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from keepwell.domain.churn import CHURN_NOTE_MAX, ChurnReason, Cltv
from keepwell.domain.customers import StoredChurnRisk
from keepwell.domain.renewals import UPCOMING_WINDOWS, ForecastCategory, Renewal
from keepwell.domain.revenue_metrics import RevenueMetrics
from keepwell.domain.upsell import Recommendation, RuleBody, Trigger, UpsellRule
from keepwell.schemas.audit import AuditEntryOut  # a renewal's forecast history is audit entries

_BODY = ConfigDict(extra="forbid", strict=True)
_QUERY = ConfigDict(extra="forbid")
Money = Annotated[float, Field(ge=0, le=1e12, allow_inf_nan=False)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
UserId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
Category = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


# --- renewals ---------------------------------------------------------------------------------------
class RenewalCreateIn(BaseModel):
    """`product` null: the account's renewal (ARR defaults to the customer's); else one subscription
    (send its `mrr` or `current_arr`)."""

    model_config = _BODY

    product: ShortText | None = None
    renewal_date: date
    current_arr: Money | None = None
    mrr: Money | None = None
    auto_renew: bool = False
    proposed_arr: Money | None = None
    expansion_target_arr: Money | None = None
    forecast_category: Category | None = None
    account_executive_id: UserId | None = None
    notes: str | None = Field(default=None, max_length=2000)


class RenewalPatchIn(BaseModel):
    """Only the sent fields change; the forecast category has its own route (it needs a reason)."""

    model_config = _BODY

    product: ShortText | None = None
    renewal_date: date | None = None
    current_arr: Money | None = None
    mrr: Money | None = None
    auto_renew: bool | None = None
    proposed_arr: Money | None = None
    expansion_target_arr: Money | None = None
    account_executive_id: UserId | None = None
    notes: str | None = Field(default=None, max_length=2000)
    version: int | None = Field(default=None, ge=1)

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True, exclude={"version"})


class ForecastChangeIn(BaseModel):
    model_config = _BODY

    forecast_category: Category
    reason: str | None = Field(default=None, max_length=1000)
    open_save_task: bool = False  # with the at-risk category: also open a "save" task for the team
    version: int | None = Field(default=None, ge=1)


class RenewalCloseIn(BaseModel):
    model_config = _BODY

    outcome: Literal["renewed", "churned"]
    closed_arr: Money | None = None  # required when renewed
    closed_on: date | None = None  # default today


class RenewalOut(BaseModel):
    renewal_id: str
    customer_id: str
    product: str | None
    renewal_date: date
    current_arr: float
    mrr: float
    auto_renew: bool
    proposed_arr: float | None
    expansion_target_arr: float | None
    forecast_category: str
    status: str
    closed_on: date | None
    closed_arr: float | None
    account_executive_id: str | None
    notes: str | None
    days_left: int
    colour: str
    proposed_delta: dict[str, Any]
    created_by: str
    created_at: str
    updated_at: str
    version: int

    @classmethod
    def of(cls, renewal: Renewal, days_left: int, colour: str, delta: dict[str, Any]) -> RenewalOut:
        data = renewal.model_dump(exclude={"workspace_id"})
        return cls.model_validate({**data, "days_left": days_left, "colour": colour, "proposed_delta": delta})


class RenewalDetailOut(RenewalOut):
    forecast_history: list[AuditEntryOut]


class RenewalListOut(BaseModel):
    items: list[RenewalOut]


class PipelineRowOut(BaseModel):
    renewal_id: str
    customer_id: str
    customer_name: str
    owner_id: str | None
    product: str | None
    current_arr: float
    renewal_date: date
    days_left: int
    colour: str
    forecast_category: str
    forecast_label: str
    status: str
    proposed_delta: dict[str, Any]
    next_action: dict[str, Any] | None
    last_activity: dict[str, Any] | None
    closed_on: date | None
    closed_arr: float | None


class PipelineTotalOut(BaseModel):
    count: int
    current_arr: float


class PipelineOut(BaseModel):
    as_of: date
    groups: dict[str, list[PipelineRowOut]]
    totals: dict[str, PipelineTotalOut]
    truncated: bool


class PipelineQuery(BaseModel):
    model_config = _QUERY
    owner_id: str | None = Field(default=None, max_length=128)


class UpcomingQuery(BaseModel):
    model_config = _QUERY
    within: int = 90
    owner_id: str | None = Field(default=None, max_length=128)

    @field_validator("within")
    @classmethod
    def _window(cls, value: int) -> int:
        if value not in UPCOMING_WINDOWS:
            raise ValueError(f"must be one of {', '.join(map(str, UPCOMING_WINDOWS))}")
        return value


class UpcomingRowOut(BaseModel):
    renewal_id: str
    customer_id: str
    account: str
    product: str | None
    mrr: float
    renewal_date: date
    days_left: int
    colour: str
    auto_renew: bool
    owner_id: str | None
    forecast_category: str


class UpcomingOut(BaseModel):
    as_of: date
    within: int
    items: list[UpcomingRowOut]


class ForecastSettingsIn(BaseModel):
    model_config = _BODY

    categories: list[ForecastCategory] = Field(min_length=1, max_length=12)
    default_category: Category
    at_risk_category: Category | None = None
    best_case_category: Category | None = None


class ForecastSettingsOut(BaseModel):
    categories: list[ForecastCategory]
    default_category: str
    at_risk_category: str | None
    best_case_category: str | None


class ForecastChangesQuery(BaseModel):
    model_config = _QUERY
    days: int = Field(default=30, ge=1, le=365)


class ForecastChangesOut(BaseModel):
    items: list[AuditEntryOut]


# --- churn --------------------------------------------------------------------------------------------
class ChurnIn(BaseModel):
    model_config = _BODY

    churn_reason: ChurnReason
    churn_note: str | None = Field(default=None, max_length=CHURN_NOTE_MAX)
    version: int | None = Field(default=None, ge=1)


class ChurnOut(BaseModel):
    customer_id: str
    status: str
    churn_reason: str
    churn_note: str | None
    churned_at: str
    churned_by: str
    arr_lost: float
    renewals_closed: list[str]
    version: int


# --- flags and scores -------------------------------------------------------------------------------------
class EvidenceOut(BaseModel):
    text: str
    ref: str | None
    at: str | None


class FlagOut(BaseModel):
    code: str
    colour: str
    title: str
    evidence: list[EvidenceOut]
    facts: dict[str, Any]


class EscalationOut(BaseModel):
    suggested: bool
    suggested_category: str | None
    current_category: str | None
    renewal_id: str | None
    reasons: list[str]


class FlagsOut(BaseModel):
    customer_id: str
    as_of: date
    red: list[FlagOut]
    green: list[FlagOut]
    competitor_mentions: list[str]
    competitor_evidence: list[EvidenceOut]
    champion_aligned: bool
    escalation: EscalationOut


# The API shows churn risk and CLTV as they are stored with each score (domain/customers.py).
class ChurnRiskOut(StoredChurnRisk):
    """Score 0-100, level (low < 30 <= medium < 60 <= high) and the parts that add up to it."""


class CltvOut(Cltv):
    pass


class ScoresOut(BaseModel):
    customer_id: str
    as_of: date
    health_score: float | None
    # with_score: churn risk and CLTV as stored with the latest daily score, of `scored_on`;
    # on_request: none were stored yet (or the customer churned since), computed as of `as_of`.
    computed: Literal["with_score", "on_request"]
    scored_on: date | None
    churn_risk: ChurnRiskOut
    cltv: CltvOut
    upsell: list[dict[str, Any]]


# --- upsell ----------------------------------------------------------------------------------------------
class UpsellRuleIn(RuleBody):
    """Create: every field of a rule (name, product, base_score required)."""


class UpsellRulePatchIn(BaseModel):
    model_config = _BODY

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    product: ShortText | None = None
    prerequisites: list[ShortText] | None = Field(default=None, max_length=20)
    exclusions: list[ShortText] | None = Field(default=None, max_length=20)
    min_employees: int | None = Field(default=None, ge=0)
    max_employees: int | None = Field(default=None, ge=0)
    industries: list[ShortText] | None = Field(default=None, max_length=50)
    base_score: float | None = Field(default=None, ge=0, le=100, allow_inf_nan=False)
    active: bool | None = None
    triggers: list[Trigger] | None = Field(default=None, max_length=20)
    description: str | None = Field(default=None, max_length=1000)
    version: int | None = Field(default=None, ge=1)

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True, exclude={"version"})


class UpsellRuleOut(BaseModel):
    rule_id: str
    name: str
    product: str
    prerequisites: list[str]
    exclusions: list[str]
    min_employees: int | None
    max_employees: int | None
    industries: list[str]
    base_score: float
    active: bool
    triggers: list[dict[str, Any]]
    description: str | None
    created_by: str
    created_at: str
    updated_at: str
    version: int

    @classmethod
    def of(cls, rule: UpsellRule) -> UpsellRuleOut:
        return cls.model_validate(rule.model_dump(exclude={"workspace_id"}))


class UpsellRuleListOut(BaseModel):
    items: list[UpsellRuleOut]


class RecommendationOut(BaseModel):
    rule_id: str
    rule_name: str
    product: str
    score: float
    base_score: float
    why: list[str]

    @classmethod
    def of(cls, rec: Recommendation) -> RecommendationOut:
        return cls.model_validate(rec.as_dict())


class RecommendationsOut(BaseModel):
    customer_id: str
    items: list[RecommendationOut]


class OpportunityIn(BaseModel):
    model_config = _BODY

    owner_id: UserId | None = None  # default: the customer's owner
    due_date: date | None = None  # default: in 7 days
    note: str | None = Field(default=None, max_length=2000)


class OpportunityOut(BaseModel):
    customer_id: str
    rule_id: str
    product: str
    score: float
    why: list[str]
    task: dict[str, Any]


# --- revenue metrics -------------------------------------------------------------------------------------
class RevenueQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    owner: str | None = Field(default=None, max_length=128)


# The figures are the domain's RevenueMetrics, answered as they are (pydantic serialises the dataclass):
# the field list is written once, in domain/revenue_metrics.py.
RevenueMetricsOut = RevenueMetrics


@dataclass(frozen=True)
class BookMetricsOut(RevenueMetrics):
    """One CSM's book: the same figures, and whose book it is (null: customers without an owner)."""

    owner_id: str | None


class RevenueOut(BaseModel):
    period: dict[str, date]
    owner: str | None
    workspace: RevenueMetricsOut | None
    books: list[BookMetricsOut]
