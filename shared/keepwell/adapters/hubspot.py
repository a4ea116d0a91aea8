"""HubSpot's CRM v3 API with a private-app token: company search, list and batch update, paced under
HubSpot's published limits and retried on 429 (after its Retry-After) and 5xx (exponential backoff).

Limits (HubSpot's API usage guidelines): private apps 100-190 requests per 10 s per account, the search
endpoints 5 requests per second, 100 records per batch or page, 10,000 results per search query.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    import httpx

DEFAULT_BASE_URL = "https://api.hubapi.com"
PAGE_SIZE = 100
BATCH_LIMIT = 100
SEARCH_INTERVAL_SECONDS = 0.2  # search: 5 requests per second
REQUEST_INTERVAL_SECONDS = 0.1  # everything: ≤ 100 requests per 10 s
MAX_ATTEMPTS = 8
MAX_WAIT_SECONDS = 30.0


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


class HubSpotError(RuntimeError):
    def __init__(self, status: int, message: str):
        super().__init__(f"HubSpot answered {status}: {message}")
        self.status = status


@dataclass
class HubSpotClient:
    token: str
    base_url: str = DEFAULT_BASE_URL
    sleep: Callable[[float], None] = field(default_factory=lambda: _sleep)  # tests replace `_sleep`
    monotonic: Callable[[], float] = time.monotonic
    timeout: float = 10.0
    retries: int = 0  # how many 429 / 5xx answers were waited out (for logs and tests)
    _last: dict[str, float] = field(default_factory=dict)
    _http: httpx.Client | None = None

    def _client(self) -> httpx.Client:
        if self._http is None:
            import httpx  # only a sync talks to HubSpot: the API imports this module for its connection routes

            self._http = httpx.Client(
                base_url=self.base_url,
                timeout=self.timeout,
                follow_redirects=False,
                headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            )
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def _pace(self, kind: str, interval: float) -> None:
        last = self._last.get(kind)
        now = self.monotonic()
        if last is not None and now - last < interval:
            self.sleep(interval - (now - last))
        self._last[kind] = self.monotonic()

    def request(self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None) -> Any:
        import httpx  # see _client

        for attempt in range(1, MAX_ATTEMPTS + 1):
            self._pace("any", REQUEST_INTERVAL_SECONDS)
            if path.endswith("/search"):
                self._pace("search", SEARCH_INTERVAL_SECONDS)
            try:
                response = self._client().request(method, path, json=json, params=params)
            except httpx.TransportError as error:
                if attempt == MAX_ATTEMPTS:
                    raise HubSpotError(0, f"no answer ({type(error).__name__})") from error
                self._wait(min(2 ** (attempt - 1), MAX_WAIT_SECONDS))
                continue
            if response.status_code == 429 or response.status_code >= 500:
                if attempt == MAX_ATTEMPTS:
                    raise HubSpotError(response.status_code, _message(response))
                self._wait(_retry_after(response, attempt))
                continue
            if response.status_code >= 400:
                raise HubSpotError(response.status_code, _message(response))
            return response.json() if response.content else None
        raise AssertionError("unreachable")

    def _wait(self, seconds: float) -> None:
        self.retries += 1
        self.sleep(seconds)

    # --- companies -------------------------------------------------------------------------------
    def search_modified_since(self, since_ms: int, properties: list[str], after: str | None = None) -> dict[str, Any]:
        """Companies modified at or after `since_ms`, oldest first (one page)."""
        body: dict[str, Any] = {
            "filterGroups": [
                {"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": str(since_ms)}]}
            ],
            "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
            "properties": properties,
            "limit": PAGE_SIZE,
        }
        if after is not None:
            body["after"] = after
        return dict(self.request("POST", "/crm/v3/objects/companies/search", json=body))

    def list_companies(self, properties: list[str], after: str | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": PAGE_SIZE, "properties": ",".join(properties), "archived": "false"}
        if after is not None:
            params["after"] = after
        return dict(self.request("GET", "/crm/v3/objects/companies", params=params))

    def list_deals(self, properties: list[str], after: str | None = None) -> dict[str, Any]:
        """One page of deals with their associated companies (`associations.companies.results[].id`)."""
        params: dict[str, Any] = {
            "limit": PAGE_SIZE,
            "properties": ",".join(properties),
            "associations": "companies",
            "archived": "false",
        }
        if after is not None:
            params["after"] = after
        return dict(self.request("GET", "/crm/v3/objects/deals", params=params))

    def get_deal(self, deal_id: str, properties: list[str]) -> dict[str, Any] | None:
        """One deal with its associated companies; None when HubSpot has no such deal (deleted, merged away)."""
        params = {"properties": ",".join(properties), "associations": "companies", "archived": "false"}
        try:
            return dict(self.request("GET", f"/crm/v3/objects/deals/{quote(deal_id, safe='')}", params=params))
        except HubSpotError as error:
            if error.status == 404:
                return None
            raise

    def batch_update_companies(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        if len(inputs) > BATCH_LIMIT:
            raise ValueError(f"at most {BATCH_LIMIT} companies per batch update")
        return dict(self.request("POST", "/crm/v3/objects/companies/batch/update", json={"inputs": inputs}) or {})


def _retry_after(response: httpx.Response, attempt: int) -> float:
    header = response.headers.get("Retry-After")
    if header is not None:
        try:
            return min(max(float(header), 0.0), MAX_WAIT_SECONDS)
        except ValueError:
            pass
    return min(float(2 ** (attempt - 1)), MAX_WAIT_SECONDS)


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("message", body))[:200] if isinstance(body, dict) else str(body)[:200]
