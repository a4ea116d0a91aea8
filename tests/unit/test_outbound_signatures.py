"""Outbound Standard Webhooks signing: the spec's test vector, receivers' library verifying what we send,
secret rotation, and properties over arbitrary ids/timestamps/bodies."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
import standardwebhooks.webhooks as sw
from hypothesis import given, settings
from hypothesis import strategies as st

from keepwell import clock
from keepwell.domain.signatures.inbound import SignatureRejected, verify_generic
from keepwell.domain.signatures.outbound import (
    NoActiveSecret,
    SigningSecret,
    active_secrets,
    envelope_bytes,
    generate_secret,
    rotate,
    sign,
)

SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

OLD_SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
NEW_SECRET = "whsec_" + base64.b64encode(bytes(range(100, 132))).decode()
NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


@contextmanager
def library_clock(at_epoch: int) -> Iterator[None]:
    """The standardwebhooks library reads datetime.now(); pin it so a receiver's check is reproducible."""

    class Pinned(datetime):
        @classmethod
        def now(cls, tz: object = None) -> Pinned:
            moment = datetime.fromtimestamp(at_epoch, tz=UTC)
            return cls(*moment.timetuple()[:6], tzinfo=UTC)

    with mock.patch.object(sw, "datetime", Pinned):
        yield


def receiver_verifies(secret: str, body: bytes, headers: dict[str, str], at_epoch: int) -> bool:
    """What a subscriber running the standardwebhooks library would conclude."""
    with library_clock(at_epoch):
        try:
            sw.Webhook(secret).verify(body, headers, json_parse=False)
        except (sw.WebhookVerificationError, ValueError):
            return False
    return True


def test_spec_test_vector_is_reproduced_exactly() -> None:
    headers = sign(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY)
    assert headers == {
        "webhook-id": SPEC_ID,
        "webhook-timestamp": "1614265330",
        "webhook-signature": SPEC_SIGNATURE,
    }


def test_datetime_timestamps_are_sent_as_whole_epoch_seconds() -> None:
    at = datetime.fromtimestamp(SPEC_TIMESTAMP, tz=UTC) + timedelta(milliseconds=999)
    headers = sign(SPEC_SECRET, SPEC_ID, at, SPEC_BODY)
    assert headers["webhook-timestamp"] == "1614265330"
    assert headers["webhook-signature"] == SPEC_SIGNATURE


def test_what_we_send_verifies_with_the_standardwebhooks_library() -> None:
    body = envelope_bytes("account.churn_risk", NOW, {"account_id": "acc_1", "score": 41})
    headers = sign(SPEC_SECRET, "msg_01", NOW, body)
    assert receiver_verifies(SPEC_SECRET, body, headers, int(NOW.timestamp()) + 30)
    # the receiver's own 5-minute tolerance
    assert not receiver_verifies(SPEC_SECRET, body, headers, int(NOW.timestamp()) + 301)
    assert not receiver_verifies(OLD_SECRET, body, headers, int(NOW.timestamp()))


def test_envelope_is_compact_stable_json_with_type_timestamp_and_data() -> None:
    data = {"b": [1, 2], "a": "Zoë"}
    body = envelope_bytes("customer.updated", NOW, data)
    assert body == envelope_bytes("customer.updated", NOW, {"a": "Zoë", "b": [1, 2]})
    assert b" " not in body
    expected = {"type": "customer.updated", "timestamp": "2026-11-20T09:30:00.000Z", "data": data}
    assert json.loads(body) == expected
    assert "Zoë".encode() in body  # UTF-8, not \u escapes: the signed bytes are what a reader sees


def test_generated_secrets_are_whsec_with_32_random_bytes_and_usable_by_the_library() -> None:
    first, second = generate_secret(), generate_secret()
    assert first != second
    for secret in (first, second):
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
        headers = sign(secret, "msg_x", NOW, b"{}")
        assert receiver_verifies(secret, b"{}", headers, int(NOW.timestamp()))


def test_generate_secret_uses_the_given_randomness() -> None:
    assert generate_secret(lambda n: b"\x01" * n) == "whsec_" + base64.b64encode(b"\x01" * 32).decode()


# --- Rotation ----------------------------------------------------------------------------------------------


def test_during_the_overlap_both_secrets_sign_and_each_verifies_alone() -> None:
    keys = rotate([SigningSecret(OLD_SECRET)], NEW_SECRET, NOW, overlap=timedelta(hours=24))
    body = b'{"type":"ping"}'
    headers = sign(keys, "msg_rot", NOW, body, now=NOW + timedelta(hours=1))
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert receiver_verifies(OLD_SECRET, body, headers, int(NOW.timestamp()))
    assert receiver_verifies(NEW_SECRET, body, headers, int(NOW.timestamp()))


def test_after_the_overlap_only_the_new_secret_signs() -> None:
    keys = rotate([SigningSecret(OLD_SECRET)], NEW_SECRET, NOW, overlap=timedelta(hours=24))
    later = NOW + timedelta(hours=24)
    body = b'{"type":"ping"}'
    headers = sign(keys, "msg_rot", later, body, now=later)
    assert len(headers["webhook-signature"].split(" ")) == 1
    assert receiver_verifies(NEW_SECRET, body, headers, int(later.timestamp()))
    assert not receiver_verifies(OLD_SECRET, body, headers, int(later.timestamp()))


def test_rotating_again_drops_expired_secrets_and_never_extends_an_overlap() -> None:
    first = rotate([SigningSecret(OLD_SECRET)], NEW_SECRET, NOW, overlap=timedelta(hours=1))
    newest = generate_secret(lambda n: b"\x07" * n)
    second = rotate(first, newest, NOW + timedelta(minutes=30), overlap=timedelta(hours=24))
    assert [k.value for k in second] == [OLD_SECRET, NEW_SECRET, newest]
    assert second[0].not_after == NOW + timedelta(hours=1)  # kept its original end
    assert second[1].not_after == NOW + timedelta(minutes=30, hours=24)
    third = rotate(second, generate_secret(), NOW + timedelta(hours=2))
    assert OLD_SECRET not in [k.value for k in third]
    assert [k.value for k in active_secrets(third, NOW + timedelta(hours=2))] == [k.value for k in third]


def test_signing_with_only_expired_secrets_is_refused() -> None:
    with pytest.raises(NoActiveSecret):
        sign([SigningSecret(OLD_SECRET, not_after=NOW)], "msg_1", NOW, b"{}", now=NOW)


def test_signing_uses_the_keepwell_clock_to_pick_active_secrets() -> None:
    keys = [SigningSecret(OLD_SECRET, not_after=NOW + timedelta(minutes=5)), SigningSecret(NEW_SECRET)]
    assert len(sign(keys, "m", NOW, b"{}")["webhook-signature"].split(" ")) == 2
    with clock.frozen(NOW + timedelta(minutes=5)):
        assert len(sign(keys, "m", NOW, b"{}")["webhook-signature"].split(" ")) == 1


@pytest.mark.parametrize("msg_id", ["", "msg\r\nX-Injected: 1"])
def test_an_empty_or_multiline_message_id_is_refused(msg_id: str) -> None:
    with pytest.raises(ValueError):
        sign(SPEC_SECRET, msg_id, NOW, b"{}")


# --- Properties --------------------------------------------------------------------------------------------

ids = st.from_regex(r"msg_[A-Za-z0-9]{1,40}", fullmatch=True)
timestamps = st.integers(min_value=1_000_000_000, max_value=4_000_000_000)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
bodies = st.one_of(
    st.text(max_size=200).map(str.encode),
    json_values.map(lambda v: envelope_bytes("event.type", NOW, v)),
)


def flip_one_byte(value: bytes, index: int, delta: int) -> bytes:
    i = index % len(value)
    return value[:i] + bytes([(value[i] + delta) % 256]) + value[i + 1 :]


@settings(derandomize=True, max_examples=150)
@given(msg_id=ids, timestamp=timestamps, body=bodies)
def test_property_anything_we_sign_verifies(msg_id: str, timestamp: int, body: bytes) -> None:
    headers = sign(SPEC_SECRET, msg_id, timestamp, body)
    assert receiver_verifies(SPEC_SECRET, body, headers, timestamp)
    verify_generic(headers, body, SPEC_SECRET, now=datetime.fromtimestamp(timestamp, tz=UTC))


@settings(derandomize=True, max_examples=150)
@given(
    msg_id=ids,
    timestamp=timestamps,
    body=bodies.filter(bool),
    part=st.sampled_from(["body", "id", "timestamp"]),
    index=st.integers(min_value=0, max_value=10_000),
    delta=st.integers(min_value=1, max_value=255),
)
def test_property_any_single_byte_change_fails_verification(
    msg_id: str, timestamp: int, body: bytes, part: str, index: int, delta: int
) -> None:
    headers = sign(SPEC_SECRET, msg_id, timestamp, body)
    at = datetime.fromtimestamp(timestamp, tz=UTC)
    if part == "body":
        body = flip_one_byte(body, index, delta)
    else:
        name = "webhook-id" if part == "id" else "webhook-timestamp"
        # Header values are ASCII: change one character to a different printable one.
        changed = flip_one_byte(headers[name].encode(), index, delta % 94 or 1)
        headers = {**headers, name: bytes(33 + (b - 33) % 94 for b in changed).decode()}
        if headers[name] == sign(SPEC_SECRET, msg_id, timestamp, body)[name]:
            return  # the wrap-around landed on the same character: not a change
    assert not receiver_verifies(SPEC_SECRET, body, headers, timestamp)
    with pytest.raises(SignatureRejected):
        verify_generic(headers, body, SPEC_SECRET, now=at)


@settings(derandomize=True, max_examples=150)
@given(msg_id=ids, timestamp=timestamps, body=bodies, overlap_hours=st.integers(min_value=1, max_value=72))
def test_property_a_header_with_old_and_new_signatures_verifies_under_either_secret(
    msg_id: str, timestamp: int, body: bytes, overlap_hours: int
) -> None:
    at = datetime.fromtimestamp(timestamp, tz=UTC)
    keys = rotate([SigningSecret(OLD_SECRET)], NEW_SECRET, at, overlap=timedelta(hours=overlap_hours))
    headers = sign(keys, msg_id, timestamp, body, now=at)
    assert receiver_verifies(OLD_SECRET, body, headers, timestamp)
    assert receiver_verifies(NEW_SECRET, body, headers, timestamp)
    unrelated = "whsec_" + base64.b64encode(b"z" * 32).decode()
    assert not receiver_verifies(unrelated, body, headers, timestamp)
