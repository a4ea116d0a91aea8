"""Inbound provider signatures: each request is built and signed here the way the provider documents it,
independently of the code under test, then checked by keepwell.domain.signatures.inbound."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook

from keepwell import clock
from keepwell.domain.signatures.inbound import (
    PROVIDERS,
    VERIFIERS,
    SignatureRejected,
    event_ids,
    hubspot_signed_uri,
    verify_generic,
    verify_hubspot,
    verify_slack,
)

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def compact(payload: object) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


# --- Realistic payloads, shaped like each provider's documented examples -----------------------------------

ZENDESK_TICKET_EVENT = compact(
    {
        "account_id": 22129848,
        "detail": {
            "actor_id": "8447388090494",
            "assignee_id": "8447388090494",
            "brand_id": "8447346621310",
            "created_at": "2026-11-19T16:02:11Z",
            "custom_status": "8447388044030",
            "description": "Our renewal invoice shows the wrong seat count",
            "external_id": None,
            "form_id": "8646151517822",
            "group_id": "8447320466430",
            "id": "35",
            "is_public": True,
            "organization_id": "8447346622462",
            "priority": "HIGH",
            "requester_id": "8447388090494",
            "status": "OPEN",
            "subject": "Renewal invoice seat count",
            "submitter_id": "8447388090494",
            "tags": ["billing", "renewal"],
            "type": "INCIDENT",
            "updated_at": "2026-11-20T09:28:40Z",
            "via": {"channel": "web_service"},
        },
        "event": {"current": "HIGH", "previous": "NORMAL"},
        "id": "cbe4028c-7239-495d-b020-f22348516046",
        "subject": "zen:ticket:35",
        "time": "2026-11-20T09:28:40.672717030Z",
        "type": "zen:event-type:ticket.priority_changed",
        "zendesk_event_version": "2022-11-06",
    }
)

INTERCOM_NOTIFICATION = compact(
    {
        "type": "notification_event",
        "app_id": "ecahpwf5",
        "data": {
            "type": "notification_event_data",
            "item": {
                "type": "conversation",
                "id": "147",
                "created_at": 1795166880,
                "updated_at": 1795166920,
                "source": {
                    "type": "conversation",
                    "body": "<p>Can we add SSO to our plan?</p>",
                    "author": {"type": "user", "id": "5310d8e7598c9a0b24000002"},
                },
                "state": "open",
                "priority": "not_priority",
            },
        },
        "links": {},
        "id": "notif_ccd8a4d0-f965-11e3-a367-c779cae3e1b3",
        "topic": "conversation.user.created",
        "delivery_status": "pending",
        "delivery_attempts": 1,
        "delivered_at": 0,
        "first_sent_at": 1795166920,
        "created_at": 1795166920,
        "self": None,
    }
)

HUBSPOT_BATCH = compact(
    [
        {
            "eventId": 1001,
            "subscriptionId": 12345,
            "portalId": 62515,
            "appId": 54321,
            "occurredAt": 1795166880000,
            "subscriptionType": "contact.creation",
            "attemptNumber": 0,
            "objectId": 123,
            "changeSource": "CRM",
            "changeFlag": "NEW",
        },
        {
            "eventId": 1002,
            "subscriptionId": 12346,
            "portalId": 62515,
            "appId": 54321,
            "occurredAt": 1795166890000,
            "subscriptionType": "deal.propertyChange",
            "attemptNumber": 0,
            "objectId": 9876,
            "propertyName": "dealstage",
            "propertyValue": "closedwon",
            "changeSource": "CRM",
        },
    ]
)
HUBSPOT_URL = "https://hooks.keepwell.example/integrations/hubspot?portal=62515&tag=a%3Ab%40c%2Fd%20e"

SLACK_EVENT = compact(
    {
        "token": "XXYYZZ",
        "team_id": "T123ABC456",
        "api_app_id": "A123ABC456",
        "event": {
            "type": "app_mention",
            "user": "U123ABC456",
            "text": "<@U0LAN0Z89> is Acme at risk?",
            "ts": "1795166920.000016",
            "channel": "C123ABC456",
            "event_ts": "1795166920.000016",
        },
        "type": "event_callback",
        "event_id": "Ev123ABC456",
        "event_time": 1795166920,
        "authed_users": ["U0LAN0Z89"],
    }
)

JIRA_ISSUE_UPDATED = compact(
    {
        "timestamp": 1795166920000,
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_generic",
        "user": {"accountId": "5b10a2844c20165700ede21g", "displayName": "Casey CSM"},
        "issue": {
            "id": "10002",
            "key": "CS-42",
            "fields": {
                "summary": "Acme renewal blocked on SSO",
                "status": {"name": "In Progress"},
                "priority": {"name": "High"},
            },
        },
        "changelog": {"id": "10105", "items": [{"field": "status", "fromString": "To Do", "toString": "In Progress"}]},
    }
)

GENERIC_EVENT = compact(
    {"type": "account.churn_risk", "timestamp": "2026-11-20T09:29:00Z", "data": {"account": "acme", "risk": 0.82}}
)

GENERIC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


# --- Signers, written from each provider's documentation ---------------------------------------------------


def _hmac(secret: str, message: bytes, digest: Callable[..., object] = hashlib.sha256) -> bytes:
    return hmac.new(secret.encode(), message, digest).digest()  # type: ignore[arg-type]


def sign_zendesk(body: bytes, secret: str, at: datetime) -> dict[str, str]:
    timestamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    signature = base64.b64encode(_hmac(secret, timestamp.encode() + body)).decode()
    return {
        "X-Zendesk-Webhook-Signature": signature,
        "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
        "X-Zendesk-Webhook-Id": "01F1KRFQ6BG29CNWFR60NR0KJ4",
    }


def sign_intercom(body: bytes, secret: str, at: datetime) -> dict[str, str]:
    return {"X-Hub-Signature": "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()}


def hubspot_uri_as_signed(url: str) -> str:
    # HubSpot's table: these escapes are decoded in the signed URI, and only these.
    for encoded, decoded in {
        "%3A": ":",
        "%2F": "/",
        "%3F": "?",
        "%40": "@",
        "%21": "!",
        "%24": "$",
        "%27": "'",
        "%28": "(",
        "%29": ")",
        "%2A": "*",
        "%2C": ",",
        "%3B": ";",
    }.items():
        url = url.replace(encoded, decoded)
    return url


def sign_hubspot(body: bytes, secret: str, at: datetime, url: str = HUBSPOT_URL) -> dict[str, str]:
    timestamp = str(int(at.timestamp() * 1000))
    message = ("POST" + hubspot_uri_as_signed(url)).encode() + body + timestamp.encode()
    return {
        "X-HubSpot-Signature-v3": base64.b64encode(_hmac(secret, message)).decode(),
        "X-HubSpot-Request-Timestamp": timestamp,
    }


def sign_slack(body: bytes, secret: str, at: datetime) -> dict[str, str]:
    timestamp = str(int(at.timestamp()))
    digest = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    return {"X-Slack-Signature": "v0=" + digest.hexdigest(), "X-Slack-Request-Timestamp": timestamp}


def sign_jira(body: bytes, secret: str, at: datetime) -> dict[str, str]:
    return {
        "X-Hub-Signature": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
        "X-Atlassian-Webhook-Identifier": "1ad9c4c7-7a6b-4f8e-8bb1-9b3b0e0c5e11",
    }


def sign_generic(body: bytes, secret: str, at: datetime) -> dict[str, str]:
    msg_id = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body.decode()),
    }


@dataclass
class Case:
    provider: str
    body: bytes
    secret: str
    sign: Callable[[bytes, str, datetime], dict[str, str]]
    required: list[str]
    timestamped: bool
    url: str = ""
    wrong_secret: str = "not-the-real-secret-0000"
    extra: dict[str, str] = field(default_factory=dict)


CASES = {
    "zendesk": Case(
        "zendesk",
        ZENDESK_TICKET_EVENT,
        "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3RpbmdfcHVycG9zZXM=",
        sign_zendesk,
        ["X-Zendesk-Webhook-Signature", "X-Zendesk-Webhook-Signature-Timestamp"],
        True,
    ),
    "intercom": Case(
        "intercom",
        INTERCOM_NOTIFICATION,
        "a1b2c3d4e5f6-intercom-client-secret",
        sign_intercom,
        ["X-Hub-Signature"],
        False,
    ),
    "hubspot": Case(
        "hubspot",
        HUBSPOT_BATCH,
        "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy",
        sign_hubspot,
        ["X-HubSpot-Signature-v3", "X-HubSpot-Request-Timestamp"],
        True,
        url=HUBSPOT_URL,
    ),
    "slack": Case(
        "slack",
        SLACK_EVENT,
        "8f742231b10e8888abcd99yyyzzz85a5",
        sign_slack,
        ["X-Slack-Signature", "X-Slack-Request-Timestamp"],
        True,
    ),
    "jira": Case("jira", JIRA_ISSUE_UPDATED, "It7Zt2qZxWXbC1kBdKgJ", sign_jira, ["X-Hub-Signature"], False),
    "generic": Case(
        "generic",
        GENERIC_EVENT,
        GENERIC_SECRET,
        sign_generic,
        ["webhook-id", "webhook-timestamp", "webhook-signature"],
        True,
        wrong_secret="whsec_" + base64.b64encode(b"a different secret of 32 bytes!!").decode(),
    ),
}
TIMESTAMPED = [name for name, case in CASES.items() if case.timestamped]


def run(case: Case, headers: dict[str, str], body: bytes | None = None, at: datetime = NOW) -> None:
    VERIFIERS[case.provider](
        headers, case.body if body is None else body, case.secret, method="POST", url=case.url, now=at
    )


def one_byte_changed(body: bytes) -> bytes:
    middle = len(body) // 2
    return body[:middle] + bytes([body[middle] ^ 0x01]) + body[middle + 1 :]


def test_every_provider_has_a_verifier() -> None:
    assert set(VERIFIERS) == set(PROVIDERS) == set(CASES)


@pytest.mark.parametrize("provider", CASES)
def test_a_correctly_signed_delivery_is_accepted(provider: str) -> None:
    case = CASES[provider]
    run(case, case.sign(case.body, case.secret, NOW - timedelta(seconds=20)))


@pytest.mark.parametrize("provider", CASES)
def test_header_names_are_matched_in_any_letter_case(provider: str) -> None:
    case = CASES[provider]
    headers = case.sign(case.body, case.secret, NOW)
    run(case, {name.lower(): value for name, value in headers.items()})
    run(case, {name.upper(): value for name, value in headers.items()})


@pytest.mark.parametrize("provider", CASES)
def test_one_byte_changed_in_the_body_is_rejected(provider: str) -> None:
    case = CASES[provider]
    headers = case.sign(case.body, case.secret, NOW)
    with pytest.raises(SignatureRejected) as rejected:
        run(case, headers, body=one_byte_changed(case.body))
    assert rejected.value.reason == "mismatch"
    assert rejected.value.status == 401


@pytest.mark.parametrize("provider", CASES)
def test_a_signature_made_with_another_secret_is_rejected(provider: str) -> None:
    case = CASES[provider]
    with pytest.raises(SignatureRejected) as rejected:
        run(case, case.sign(case.body, case.wrong_secret, NOW))
    assert rejected.value.reason == "mismatch"


@pytest.mark.parametrize(("provider", "header"), [(p, h) for p, c in CASES.items() for h in c.required])
def test_a_missing_header_is_rejected_naming_the_header(provider: str, header: str) -> None:
    case = CASES[provider]
    headers = {k: v for k, v in case.sign(case.body, case.secret, NOW).items() if k != header}
    with pytest.raises(SignatureRejected) as rejected:
        run(case, headers)
    assert rejected.value.reason == "missing_header"
    assert rejected.value.details == [{"field": f"headers.{header}", "issue": "missing_header"}]
    assert header in rejected.value.message


@pytest.mark.parametrize("provider", TIMESTAMPED)
def test_a_delivery_signed_more_than_five_minutes_ago_is_rejected_as_a_replay(provider: str) -> None:
    case = CASES[provider]
    run(case, case.sign(case.body, case.secret, NOW - timedelta(seconds=299)))  # inside the window
    with pytest.raises(SignatureRejected) as rejected:
        run(case, case.sign(case.body, case.secret, NOW - timedelta(seconds=301)))
    assert rejected.value.reason == "stale_timestamp"


@pytest.mark.parametrize("provider", TIMESTAMPED)
def test_a_timestamp_far_in_the_future_is_rejected(provider: str) -> None:
    case = CASES[provider]
    with pytest.raises(SignatureRejected) as rejected:
        run(case, case.sign(case.body, case.secret, NOW + timedelta(minutes=6)))
    assert rejected.value.reason == "future_timestamp"


@pytest.mark.parametrize("provider", TIMESTAMPED)
def test_a_replayed_valid_signature_with_a_fresh_timestamp_swapped_in_is_rejected(provider: str) -> None:
    case = CASES[provider]
    old = case.sign(case.body, case.secret, NOW - timedelta(hours=1))
    fresh = case.sign(case.body, case.secret, NOW)
    timestamp_header = next(h for h in case.required if "timestamp" in h.lower())
    forged = {**old, timestamp_header: fresh[timestamp_header]}
    with pytest.raises(SignatureRejected) as rejected:
        run(case, forged)
    assert rejected.value.reason == "mismatch"


@pytest.mark.parametrize("provider", ["intercom", "jira"])
def test_untimestamped_schemes_accept_old_deliveries_so_dedupe_must_catch_replays(provider: str) -> None:
    case = CASES[provider]
    run(case, case.sign(case.body, case.secret, NOW - timedelta(days=3)))
    assert event_ids(provider, case.sign(case.body, case.secret, NOW), case.body)


def test_verifiers_use_the_keepwell_clock_when_no_now_is_given() -> None:
    case = CASES["slack"]
    headers = case.sign(case.body, case.secret, NOW - timedelta(minutes=10))
    with clock.frozen(NOW - timedelta(minutes=10)):
        verify_slack(headers, case.body, case.secret)
    with clock.frozen(NOW), pytest.raises(SignatureRejected):
        verify_slack(headers, case.body, case.secret)


# --- Provider specifics ------------------------------------------------------------------------------------

SLACK_DOC_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SLACK_DOC_HEADERS = {
    "X-Slack-Request-Timestamp": "1531420618",
    "X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
}


def test_slack_documented_example_verifies_at_its_own_time_and_is_stale_today() -> None:
    captured_at = datetime.fromtimestamp(1531420618, tz=UTC)
    verify_slack(SLACK_DOC_HEADERS, SLACK_DOC_BODY, "8f742231b10e8888abcd99yyyzzz85a5", now=captured_at)
    with pytest.raises(SignatureRejected) as rejected:
        verify_slack(SLACK_DOC_HEADERS, SLACK_DOC_BODY, "8f742231b10e8888abcd99yyyzzz85a5", now=NOW)
    assert rejected.value.reason == "stale_timestamp"


def test_slack_signature_without_the_v0_prefix_is_rejected_as_malformed() -> None:
    headers = {**SLACK_DOC_HEADERS, "X-Slack-Signature": SLACK_DOC_HEADERS["X-Slack-Signature"][3:]}
    with pytest.raises(SignatureRejected) as rejected:
        verify_slack(
            headers, SLACK_DOC_BODY, "8f742231b10e8888abcd99yyyzzz85a5", now=datetime.fromtimestamp(1531420618, tz=UTC)
        )
    assert rejected.value.reason == "malformed_header"


def test_hubspot_signs_the_uri_with_only_the_documented_escapes_decoded() -> None:
    assert hubspot_signed_uri(HUBSPOT_URL) == (
        "https://hooks.keepwell.example/integrations/hubspot?portal=62515&tag=a:b@c/d%20e"
    )
    assert hubspot_signed_uri("https://x.example/p?q=%28a%29%2a%2C%3b%21%24%27%3F") == (
        "https://x.example/p?q=(a)*,;!$'?"
    )


def test_hubspot_signature_over_the_undecoded_url_is_rejected() -> None:
    case = CASES["hubspot"]
    timestamp = str(int(NOW.timestamp() * 1000))
    message = ("POST" + HUBSPOT_URL).encode() + case.body + timestamp.encode()
    raw = base64.b64encode(_hmac(case.secret, message))
    headers = {"X-HubSpot-Signature-v3": raw.decode(), "X-HubSpot-Request-Timestamp": timestamp}
    with pytest.raises(SignatureRejected):
        verify_hubspot(headers, case.body, case.secret, url=HUBSPOT_URL, now=NOW)


def test_hubspot_signature_is_bound_to_method_and_url() -> None:
    case = CASES["hubspot"]
    headers = sign_hubspot(case.body, case.secret, NOW)
    with pytest.raises(SignatureRejected):
        verify_hubspot(headers, case.body, case.secret, method="PUT", url=HUBSPOT_URL, now=NOW)
    with pytest.raises(SignatureRejected):
        verify_hubspot(headers, case.body, case.secret, url=HUBSPOT_URL.replace("62515", "62516"), now=NOW)
    with pytest.raises(SignatureRejected) as rejected:
        verify_hubspot(headers, case.body, case.secret, url="", now=NOW)
    assert rejected.value.reason == "missing_url"
    assert rejected.value.details == [{"field": "url", "issue": "missing_url"}]


def test_hubspot_timestamp_is_read_as_milliseconds() -> None:
    case = CASES["hubspot"]
    headers = sign_hubspot(case.body, case.secret, NOW)
    seconds = str(int(NOW.timestamp()))
    with pytest.raises(SignatureRejected) as rejected:
        verify_hubspot(
            {**headers, "X-HubSpot-Request-Timestamp": seconds}, case.body, case.secret, url=HUBSPOT_URL, now=NOW
        )
    assert rejected.value.reason == "stale_timestamp"


def test_intercom_and_jira_share_a_header_name_but_not_an_algorithm() -> None:
    intercom_headers = sign_intercom(JIRA_ISSUE_UPDATED, "shared", NOW)
    with pytest.raises(SignatureRejected) as rejected:
        VERIFIERS["jira"](intercom_headers, JIRA_ISSUE_UPDATED, "shared", now=NOW)
    assert rejected.value.reason == "malformed_header"
    jira_headers = sign_jira(INTERCOM_NOTIFICATION, "shared", NOW)
    with pytest.raises(SignatureRejected):
        VERIFIERS["intercom"](jira_headers, INTERCOM_NOTIFICATION, "shared", now=NOW)


def test_jira_github_style_sha256_header_alone_is_not_accepted() -> None:
    case = CASES["jira"]
    headers = sign_jira(case.body, case.secret, NOW)
    headers["X-Hub-Signature-256"] = headers.pop("X-Hub-Signature")
    with pytest.raises(SignatureRejected) as rejected:
        run(case, headers)
    assert rejected.value.reason == "missing_header"


def test_zendesk_timestamp_that_is_not_iso_is_rejected() -> None:
    case = CASES["zendesk"]
    headers = sign_zendesk(case.body, case.secret, NOW)
    headers["X-Zendesk-Webhook-Signature-Timestamp"] = "yesterday"
    with pytest.raises(SignatureRejected) as rejected:
        run(case, headers)
    assert rejected.value.reason == "malformed_header"


def test_generic_verification_follows_the_keepwell_clock_not_the_wall_clock() -> None:
    # The Standard Webhooks spec vector is from 2021: the library alone would call it too old.
    body = b'{"test": 2432232314}'
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    with clock.frozen(datetime.fromtimestamp(1614265330 + 60, tz=UTC)):
        verify_generic(headers, body, GENERIC_SECRET)
    with pytest.raises(SignatureRejected) as rejected:
        verify_generic(headers, body, GENERIC_SECRET)  # the autouse clock is 2026
    assert rejected.value.reason == "stale_timestamp"


@pytest.mark.parametrize("signature", ["garbage", "v1,not-base64!!", "v1", ""])
def test_generic_malformed_signature_header_is_rejected_not_crashed(signature: str) -> None:
    case = CASES["generic"]
    headers = {**sign_generic(case.body, case.secret, NOW), "webhook-signature": signature}
    with pytest.raises(SignatureRejected):
        run(case, headers)


def test_generic_accepts_a_header_listing_an_old_and_a_new_signature() -> None:
    case = CASES["generic"]
    old = sign_generic(case.body, case.wrong_secret, NOW)
    new = sign_generic(case.body, case.secret, NOW)
    both = {**new, "webhook-signature": f"{old['webhook-signature']} {new['webhook-signature']}"}
    run(case, both)


def test_generic_with_an_unusable_secret_is_rejected() -> None:
    case = CASES["generic"]
    with pytest.raises(SignatureRejected) as rejected:
        verify_generic(sign_generic(case.body, case.secret, NOW), case.body, "whsec_", now=NOW)
    assert rejected.value.reason == "bad_secret"


def test_rejection_renders_the_one_error_envelope() -> None:
    case = CASES["slack"]
    with pytest.raises(SignatureRejected) as rejected:
        run(case, case.sign(case.body, case.wrong_secret, NOW))
    envelope = rejected.value.envelope()
    assert envelope["error"]["code"] == "invalid_signature"
    assert envelope["error"]["details"] == [{"field": "headers.X-Slack-Signature", "issue": "mismatch"}]


# --- Dedupe ids --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "expected"),
    [
        ("zendesk", ["cbe4028c-7239-495d-b020-f22348516046"]),
        ("intercom", ["notif_ccd8a4d0-f965-11e3-a367-c779cae3e1b3"]),
        ("hubspot", ["1001", "1002"]),
        ("slack", ["Ev123ABC456"]),
        ("jira", ["1ad9c4c7-7a6b-4f8e-8bb1-9b3b0e0c5e11"]),
        ("generic", ["msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"]),
    ],
)
def test_each_provider_gives_its_stable_event_id_for_dedupe(provider: str, expected: list[str]) -> None:
    case = CASES[provider]
    headers = case.sign(case.body, case.secret, NOW)
    assert event_ids(provider, headers, case.body) == expected


def test_event_ids_are_the_same_on_a_redelivery_signed_later() -> None:
    case = CASES["hubspot"]
    first = event_ids("hubspot", sign_hubspot(case.body, case.secret, NOW), case.body)
    again = event_ids("hubspot", sign_hubspot(case.body, case.secret, NOW + timedelta(minutes=30)), case.body)
    assert first == again == ["1001", "1002"]


def test_a_slack_slash_command_has_no_event_id() -> None:
    assert event_ids("slack", SLACK_DOC_HEADERS, SLACK_DOC_BODY) == []


def test_event_ids_for_an_unknown_provider_is_an_error() -> None:
    with pytest.raises(KeyError):
        event_ids("salesforce", {}, b"{}")
