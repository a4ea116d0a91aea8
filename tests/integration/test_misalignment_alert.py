"""The misalignment alert end to end on moto: the daily fan-out tallies each segment's scores, the scorer
reads that tally by key with the customer's inputs and alerts a customer far below its segment's
average, once per episode, within the daily request budget."""

from __future__ import annotations

from datetime import date, timedelta

from bench.recalc import count_aws_requests
from infra.template import Resolver
from keepwell.adapters import event_bus
from keepwell.domain import signal_log
from keepwell.domain.segment_baselines import SegmentBaselines
from keepwell.storage import health_snapshots as snapshots
from keepwell.storage import keys
from keepwell.storage import segments as segment_store
from tests.conftest import ApiClient
from tests.integration.test_scoring_pipeline import (
    TODAY,
    add_customer,
    queued,
    request,
    score,
    timeline,
    usage_days,
    usual_log,
)

YESTERDAY = TODAY - timedelta(days=1)
HEALTHY = ("ada", "bea", "cal", "dov")


def troubled_log(customer_id: str) -> signal_log.SignalLog:
    log = usual_log(customer_id)
    signal_log.fold(
        log,
        [
            timeline(customer_id, "ticket", n, f"t{n}", ticket_id=f"Z{n}", status="open", priority="critical")
            for n in range(6)
        ]
        + [
            timeline(customer_id, "email", n, f"x{n}", direction="in", body="This is terrible, we will cancel")
            for n in range(4)
        ],
    )
    return log


def enterprise_book(workspace: str, admin_api: ApiClient) -> None:
    created = admin_api.post("/v1/segments", {"name": "Enterprise", "condition": 'tier = "enterprise"'})
    assert created.status == 201, created.body
    for customer_id in HEALTHY:
        add_customer(workspace, customer_id, tier="enterprise")
    add_customer(workspace, "eve", tier="enterprise", usage=usage_days(quiet_from=39), log=troubled_log("eve"))
    add_customer(workspace, "sam", tier="smb", usage=usage_days(quiet_from=39), log=troubled_log("sam"))


def score_the_day(aws: Resolver, day: date) -> None:
    """What the schedule does for a day: the workspace's fan-out, then every queued customer."""
    assert score(request(None, scoring_day=day)) == {"batchItemFailures": []}
    bodies = queued(aws)
    assert score(*[request(b["customer_id"], scoring_day=day) for b in bodies]) == {"batchItemFailures": []}


def stored_baselines(workspace: str) -> SegmentBaselines:
    (raw,) = snapshots.batch_get_raw([keys.segment_baselines(workspace)])
    return segment_store.baselines_of(raw)


def misalignments(published: list[event_bus.DomainEvent]) -> list[dict[str, object]]:
    return [e.detail for e in published if e.detail_type == "health.alert" and e.detail["alert_kind"] == "misalignment"]


def test_a_customer_far_below_its_segment_is_alerted_once_against_its_peers_average(
    aws: Resolver, workspace: str, admin_api: ApiClient, published: list[event_bus.DomainEvent]
):
    enterprise_book(workspace, admin_api)
    score_the_day(aws, YESTERDAY)  # first day: nobody had a score when the day was fanned out
    assert misalignments(published) == []
    peers = [snapshots.get_customer_health(workspace, c) for c in HEALTHY]
    scores = [found[0].health_score for found in peers if found is not None]
    assert len(scores) == 4 and all(s is not None and s >= 70 for s in scores)
    published.clear()

    score_the_day(aws, TODAY)

    (alert,) = misalignments(published)
    eve = snapshots.get_customer_health(workspace, "eve")
    assert eve is not None and eve[0].health_score is not None
    assert alert["customer_id"] == "eve" and alert["owner_id"] == "csm-1"
    details = alert["details"]
    assert isinstance(details, dict)
    expected_avg = sum(s for s in scores if s is not None) / 4  # the peers' scores at fan-out, eve left out
    assert details["segment"] == "Enterprise" and details["peers"] == 4
    assert details["segment_avg"] == round(expected_avg, 1)
    assert details["segment_avg"] - eve[0].health_score > 20
    # sam scores as low as eve but is in no segment: no baseline, no alert.
    sam = snapshots.get_customer_health(workspace, "sam")
    assert sam is not None and sam[0].health_score == eve[0].health_score

    published.clear()
    score(request("eve", scoring_day=TODAY, reason="ingest"), receive_count=2)  # a rescoring the same day
    score_the_day(aws, TODAY + timedelta(days=1))  # the episode goes on
    assert misalignments(published) == []


def test_the_tally_is_one_item_per_workspace_and_scoring_still_costs_two_requests(
    aws: Resolver, workspace: str, admin_api: ApiClient
):
    enterprise_book(workspace, admin_api)
    score_the_day(aws, YESTERDAY)
    assert score(request(None, scoring_day=TODAY)) == {"batchItemFailures": []}
    queued(aws)
    tally = {t.name: t.count for t in stored_baselines(workspace).segments}
    assert tally == {"Enterprise": 5}

    with count_aws_requests() as requests:
        assert score(request("eve", scoring_day=TODAY)) == {"batchItemFailures": []}
    assert requests.operations("dynamodb") == {"BatchGetItem": 1, "TransactWriteItems": 1}
