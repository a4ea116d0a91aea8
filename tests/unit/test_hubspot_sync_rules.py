"""The pure rules of the two-way HubSpot sync (keepwell.domain.integrations.hubspot_sync) and the
client's backoff decisions (keepwell.adapters.hubspot)."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
from pydantic import ValidationError

from keepwell.adapters.hubspot import MAX_WAIT_SECONDS, _retry_after
from keepwell.domain.integrations.hubspot_sync import (
    DealMapping,
    PropertyMapping,
    WrittenBack,
    company_changes,
    deal_renewal_changes,
    hubspot_owned,
    modified_ms,
)

MAPPING = [
    PropertyMapping(hubspot_property="name", field="name"),
    PropertyMapping(hubspot_property="annualrevenue", field="arr"),
    PropertyMapping(hubspot_property="contract_end", field="renewal_date"),
    PropertyMapping(hubspot_property="csm", field="owner_email"),
    PropertyMapping(hubspot_property="tier", field="tier", owner="keepwell"),
    PropertyMapping(hubspot_property="sla", field="custom_fields.sla_hours"),
    PropertyMapping(hubspot_property="numberofemployees", field="employee_count"),
]


def test_only_hubspot_owned_fields_change_and_empty_values_are_left_alone() -> None:
    properties = {
        "name": "Acme",
        "annualrevenue": "120000.5",
        "contract_end": "1798761600000",  # midnight UTC, epoch ms, as HubSpot stores date properties
        "csm": "Dana@Acme.test",
        "tier": "Gold",
        "sla": "24",
        "numberofemployees": "",
    }
    changes, problems = company_changes(properties, MAPPING, {"dana@acme.test": "csm-1"})
    assert problems == []
    assert changes == {
        "name": "Acme",
        "arr": 120000.5,
        "renewal_date": date(2027, 1, 1),
        "owner_id": "csm-1",
        "custom_fields": {"sla_hours": "24"},
    }


def test_values_that_do_not_fit_are_reported_not_synced() -> None:
    changes, problems = company_changes(
        {"annualrevenue": "a lot", "csm": "stranger@x.test", "contract_end": "2027-02-01"}, MAPPING, {}
    )
    assert changes == {"renewal_date": date(2027, 2, 1)}
    assert problems == [
        "annualrevenue: 'a lot' does not fit arr",
        "csm: stranger@x.test is not a user of this workspace",
    ]


def test_the_owned_fields_are_those_hubspot_owns_with_the_owner_as_owner_id() -> None:
    assert hubspot_owned(MAPPING) == {
        "name",
        "arr",
        "renewal_date",
        "owner_id",
        "custom_fields.sla_hours",
        "employee_count",
    }


def test_a_mapping_to_a_field_hubspot_cannot_fill_is_refused() -> None:
    with pytest.raises(ValidationError, match="health_score"):
        PropertyMapping(hubspot_property="score", field="health_score")
    with pytest.raises(ValidationError):
        PropertyMapping(hubspot_property="Not A Property", field="name")


def test_last_modified_reads_iso_and_epoch_milliseconds() -> None:
    assert modified_ms({"hs_lastmodifieddate": "2026-11-20T09:30:00.000Z"}) == 1795167000000
    assert modified_ms({"hs_lastmodifieddate": "1795167000000"}) == 1795167000000
    assert modified_ms({}) is None


def test_written_back_values_compare_and_render_as_hubspot_properties() -> None:
    first = WrittenBack(score=72.0, band="green", risk=None)
    assert first == WrittenBack(score=72.0, band="green")
    assert first != WrittenBack(score=72.5, band="green")
    assert first.properties() == {
        "keepwell_health_score": "72.0",
        "keepwell_health_band": "green",
        "keepwell_churn_risk": "",
    }


@pytest.mark.parametrize(
    ("status", "headers", "attempt", "wait"),
    [
        (429, {"Retry-After": "3"}, 1, 3.0),
        (429, {"Retry-After": "3600"}, 1, MAX_WAIT_SECONDS),
        (429, {}, 3, 4.0),
        (503, {}, 1, 1.0),
        (503, {"Retry-After": "soon"}, 2, 2.0),
    ],
)
def test_backoff_follows_retry_after_within_a_cap_else_doubles(
    status: int, headers: dict[str, str], attempt: int, wait: float
) -> None:
    assert _retry_after(httpx.Response(status, headers=headers), attempt) == wait


def test_an_open_deal_of_the_renewal_pipeline_sets_a_renewal_date_and_arr() -> None:
    mapping = DealMapping(enabled=True, pipeline="renewals")
    deal = {
        "pipeline": "renewals",
        "dealstage": "qualifiedtobuy",
        "closedate": "2027-03-31T00:00:00Z",
        "amount": "48000",
    }
    assert deal_renewal_changes(deal, mapping) == {"renewal_date": date(2027, 3, 31), "proposed_arr": 48000.0}
    assert deal_renewal_changes({**deal, "pipeline": "default"}, mapping) is None
    assert deal_renewal_changes({**deal, "dealstage": "closedwon"}, mapping) is None
    assert deal_renewal_changes({**deal, "closedate": ""}, mapping) is None
    as_current = DealMapping(enabled=True, amount_field="current_arr")
    assert deal_renewal_changes({**deal, "amount": ""}, as_current) == {"renewal_date": date(2027, 3, 31)}
