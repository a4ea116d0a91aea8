"""Churn risk and CLTV of a flags assessment: computed with each daily score (services/customer_flags) and
stored on the profile, answered by /scores (services/churn.py).

Apart from services/churn.py, which also marks customers churned with the API's schemas: the playbooks
function computes these with every `health.scored` event and has no use for those (decision 0027).
"""

from __future__ import annotations

from datetime import date

from keepwell.domain import churn as rules
from keepwell.domain.churn import ChurnRisk, Cltv, RiskInputs
from keepwell.domain.customers import Customer, StoredChurnRisk
from keepwell.domain.renewals import proposed_delta
from keepwell.services import flags as flag_service


def risk_of(found: flag_service.Assessment) -> ChurnRisk:
    customer, renewal = found.customer, found.next_renewal
    delta = proposed_delta(renewal.current_arr, renewal.proposed_arr) if renewal is not None else None
    return rules.churn_risk(
        RiskInputs(
            status=customer.status,
            health_score=customer.health_score,
            red_flags=tuple(found.result.red_codes),
            green_flags=tuple(f.code for f in found.result.green),
            renewal_date=renewal.renewal_date if renewal is not None else None,
            renewal_at_risk=renewal is not None and renewal.forecast_category == found.forecast.at_risk_category,
            downsell_proposed=delta is not None and delta.kind == "downsell",
            today=found.today,
        )
    )


def churn_scores(found: flag_service.Assessment) -> tuple[StoredChurnRisk, Cltv]:
    """Churn risk and CLTV of an assessment, as stored with each score and answered by /scores."""
    risk = risk_of(found)
    value = rules.cltv(found.customer.arr, risk, found.customer.status)
    return StoredChurnRisk.model_validate(risk.as_dict()), value


def stored_scores(customer: Customer) -> tuple[date, StoredChurnRisk, Cltv] | None:
    """(scored day, churn risk, CLTV) stored with the customer's latest score; None when none are stored
    yet, or the customer churned after that score (a churned customer is 100 / CLTV 0 by the rules; the
    next daily score stores that)."""
    flags = customer.flags
    if flags is None or flags.churn_risk is None or flags.cltv is None:
        return None
    if customer.status == "churned" and all(p.factor != "churned" for p in flags.churn_risk.parts):
        return None
    return flags.scored_on, flags.churn_risk, flags.cltv
