"""Issue #16: a rotated or deleted inbound integration secret stops verifying at once, even in another
warm container that cached the old one (the secret cache is per process, 60 s).

Two containers are two secret caches: the admin's API calls run with one, the provider's webhooks with
the other; the clock does not move between the rotation and the next webhook."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from keepwell.adapters import secrets as secret_cache
from keepwell.storage import integration_secrets
from tests.conftest import ApiClient
from tests.integration.test_integrations_webhooks import REQUESTER, ZENDESK_SECRET, post, zendesk_headers
from tests.unit.test_integration_parsers import body, zendesk_ticket_event

NEW_SECRET = "bmV3LXplbmRlc2stc2lnbmluZy1zZWNyZXQtcm90YXRlZA=="


@pytest.fixture
def containers(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Any]:
    """`with container("api"):` runs the block with that container's own secret cache."""
    caches: dict[str, dict[str, Any]] = {"api": {}, "integrations": {}}

    @contextmanager
    def container(name: str) -> Iterator[None]:
        monkeypatch.setattr(secret_cache, "_cache", caches[name])
        yield

    return container


def webhook(workspace: str, secret: str, ticket: int) -> int:
    raw = body(zendesk_ticket_event(requester=REQUESTER, ticket_id=str(ticket)))
    return post("zendesk", workspace, raw, zendesk_headers(secret, raw)).status


def set_secret(api: ApiClient, secret: str) -> None:
    response = api.request("PUT", "/v1/integrations/zendesk/secret", body={"secret": secret})
    assert response.status == 200, response.body


def test_a_rotated_secret_stops_verifying_at_once_in_another_warm_container(
    admin_api: ApiClient, workspace: str, containers: Callable[[str], Any]
) -> None:
    with containers("api"):
        set_secret(admin_api, ZENDESK_SECRET)
    with containers("integrations"):
        assert webhook(workspace, ZENDESK_SECRET, 1) == 200  # the old secret is now cached here

    with containers("api"):
        set_secret(admin_api, NEW_SECRET)

    with containers("integrations"):
        assert webhook(workspace, ZENDESK_SECRET, 2) == 401
        assert webhook(workspace, NEW_SECRET, 3) == 200


def test_a_deleted_secret_stops_verifying_at_once_in_another_warm_container(
    admin_api: ApiClient, workspace: str, containers: Callable[[str], Any]
) -> None:
    with containers("api"):
        set_secret(admin_api, ZENDESK_SECRET)
    with containers("integrations"):
        assert webhook(workspace, ZENDESK_SECRET, 1) == 200

    with containers("api"):
        assert admin_api.delete("/v1/integrations/zendesk/secret").status == 204

    with containers("integrations"):
        assert webhook(workspace, ZENDESK_SECRET, 2) == 401


def test_the_cache_still_saves_secrets_manager_reads_while_the_version_holds(
    admin_api: ApiClient, workspace: str, containers: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    with containers("api"):
        set_secret(admin_api, ZENDESK_SECRET)
    reads: list[str] = []
    manager = secret_cache.client("secretsmanager")  # one client per container (cached)
    original = manager.get_secret_value
    monkeypatch.setattr(manager, "get_secret_value", lambda **kw: reads.append(kw["SecretId"]) or original(**kw))
    with containers("integrations"):
        assert [webhook(workspace, ZENDESK_SECRET, n) for n in (1, 2, 3)] == [200, 200, 200]
    assert len(reads) == 1


def test_a_secret_set_before_versions_existed_still_verifies_and_is_adopted(
    workspace: str, containers: Callable[[str], Any]
) -> None:
    """An upgrade must not break a configured integration: the secret in Secrets Manager without a state
    item verifies, and from then on has a version like any other."""
    secret_cache.put_secret(f"keepwell/{workspace}/integrations/zendesk", ZENDESK_SECRET)
    assert integration_secrets.get_state(workspace, "zendesk") is None
    with containers("integrations"):
        assert webhook(workspace, ZENDESK_SECRET, 1) == 200
    state = integration_secrets.get_state(workspace, "zendesk")
    assert state is not None and state.configured


def test_a_webhook_for_a_provider_never_configured_is_401_and_writes_nothing(workspace: str) -> None:
    assert webhook(workspace, ZENDESK_SECRET, 1) == 401
    assert integration_secrets.get_state(workspace, "zendesk") is None
