"""A local stand-in for the HubSpot CRM v3 endpoints the sync uses, answering in HubSpot's documented
shapes: companies list (`GET /crm/v3/objects/companies`, `paging.next.after`), search (`POST …/search`,
`filterGroups` on `hs_lastmodifieddate` with GTE, ascending sort, `total`, paging), batch update
(`POST …/batch/update`, 200 COMPLETE or 207 with `errors[].context.ids`), deals with their company
associations (`GET /crm/v3/objects/deals?associations=companies`), a private-app bearer token
(401 otherwise), and injected failures: 429 with `Retry-After` and HubSpot's rate-limit body, and 5xx.
Started by the tests on 127.0.0.1 (no internet)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class HubSpotStub:
    token: str
    companies: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> properties
    modified: dict[str, int] = field(default_factory=dict)  # id -> hs_lastmodifieddate (ms)
    deals: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> properties
    deal_companies: dict[str, list[str]] = field(default_factory=dict)  # deal id -> associated company ids
    deal_modified: dict[str, int] = field(default_factory=dict)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)  # (method, path, body)
    updates: list[dict[str, Any]] = field(default_factory=list)  # every batch-update input received
    failures: list[tuple[int, float | None]] = field(default_factory=list)  # next answers: (status, Retry-After)
    fail_from_call: int | None = None  # every call from this one on answers 500 (an outage)
    clock_ms: int = 1_790_000_000_000
    lock: threading.Lock = field(default_factory=threading.Lock)

    def put_company(self, company_id: str, **properties: Any) -> None:
        with self.lock:
            self.clock_ms += 1000
            self.companies.setdefault(company_id, {}).update({k: str(v) for k, v in properties.items()})
            self.modified[company_id] = self.clock_ms

    def put_deal(self, deal_id: str, companies: list[str] | None = None, **properties: Any) -> None:
        with self.lock:
            self.clock_ms += 1000
            self.deals.setdefault(deal_id, {}).update({k: str(v) for k, v in properties.items()})
            if companies is not None:
                self.deal_companies[deal_id] = companies
            self.deal_modified[deal_id] = self.clock_ms

    def list_deals(self, query: dict[str, list[str]]) -> tuple[int, Any]:
        limit = min(int(query.get("limit", ["10"])[0]), 100)
        start = int(query.get("after", ["0"])[0])
        ids = sorted(self.deals, key=lambda d: (len(d), d))
        with_companies = "companies" in query.get("associations", [""])[0].split(",")
        results = []
        for deal_id in ids[start : start + limit]:
            properties = {**self.deals[deal_id], "hs_object_id": deal_id}
            properties["hs_lastmodifieddate"] = iso(self.deal_modified[deal_id])
            record: dict[str, Any] = {"id": deal_id, "properties": properties, "archived": False}
            if with_companies and self.deal_companies.get(deal_id):
                record["associations"] = {
                    "companies": {
                        "results": [{"id": c, "type": "deal_to_company"} for c in self.deal_companies[deal_id]]
                    }
                }
            results.append(record)
        answer: dict[str, Any] = {"results": results}
        if start + limit < len(ids):
            answer["paging"] = {"next": {"after": str(start + limit)}}
        return 200, answer

    def get_deal(self, deal_id: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        """GET /crm/v3/objects/deals/{dealId}: HubSpot's 404 body for an unknown deal."""
        if deal_id not in self.deals:
            return 404, {"status": "error", "message": "resource not found", "category": "OBJECT_NOT_FOUND"}
        _, page = self.list_deals({**query, "limit": ["100"]})
        return 200, next(d for d in page["results"] if d["id"] == deal_id)

    def _record(self, company_id: str) -> dict[str, Any]:
        properties = dict(self.companies[company_id])
        properties["hs_object_id"] = company_id
        properties["hs_lastmodifieddate"] = iso(self.modified[company_id])
        return {
            "id": company_id,
            "properties": properties,
            "createdAt": iso(self.modified[company_id]),
            "updatedAt": iso(self.modified[company_id]),
            "archived": False,
        }

    def _ordered(self) -> list[str]:
        return sorted(self.companies, key=lambda c: (len(c), c))

    # --- endpoints --------------------------------------------------------------------------------
    def list_companies(self, query: dict[str, list[str]]) -> tuple[int, Any]:
        limit = min(int(query.get("limit", ["10"])[0]), 100)
        start = int(query.get("after", ["0"])[0])
        ids = self._ordered()
        page = ids[start : start + limit]
        answer: dict[str, Any] = {"results": [self._record(c) for c in page]}
        if start + limit < len(ids):
            after = str(start + limit)
            answer["paging"] = {"next": {"after": after, "link": f"?after={after}"}}
        return 200, answer

    def search(self, body: dict[str, Any]) -> tuple[int, Any]:
        filters = [f for group in body.get("filterGroups", []) for f in group.get("filters", [])]
        since = next(int(f["value"]) for f in filters if f["propertyName"] == "hs_lastmodifieddate")
        assert all(f["operator"] == "GTE" for f in filters)
        matching = sorted((c for c in self.companies if self.modified[c] >= since), key=lambda c: self.modified[c])
        limit = min(int(body.get("limit", 10)), 200)
        start = int(body.get("after", 0))
        page = matching[start : start + limit]
        answer: dict[str, Any] = {"total": len(matching), "results": [self._record(c) for c in page]}
        if start + limit < len(matching):
            answer["paging"] = {"next": {"after": str(start + limit)}}
        return 200, answer

    def batch_update(self, body: dict[str, Any]) -> tuple[int, Any]:
        inputs = body["inputs"]
        assert len(inputs) <= 100, "HubSpot takes at most 100 inputs per batch"
        results, missing = [], []
        for entry in inputs:
            self.updates.append(entry)
            if entry["id"] not in self.companies:
                missing.append(entry["id"])
                continue
            self.companies[entry["id"]].update(entry["properties"])
            results.append(self._record(entry["id"]))
        now = iso(self.clock_ms)
        answer: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now}
        if missing:
            answer["numErrors"] = len(missing)
            answer["errors"] = [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": "Could not get some COMPANY objects, they may be deleted or not exist.",
                    "context": {"ids": missing},
                }
            ]
            return 207, answer
        return 200, answer

    def answer(
        self, method: str, path: str, query: dict[str, list[str]], headers: Any, body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        with self.lock:
            self.requests.append((method, path, body))
            if headers.get("Authorization") != f"Bearer {self.token}":
                return (
                    401,
                    {
                        "status": "error",
                        "message": "Authentication credentials not found.",
                        "category": "INVALID_AUTHENTICATION",
                    },
                    {},
                )
            if self.fail_from_call is not None and len(self.requests) >= self.fail_from_call:
                return 502, {"status": "error", "message": "Bad gateway"}, {}
            if self.failures:
                status, retry_after = self.failures.pop(0)
                if status == 429:
                    return (
                        429,
                        {
                            "status": "error",
                            "message": "You have reached your ten_secondly_rolling limit.",
                            "errorType": "RATE_LIMIT",
                            "correlationId": "c0ffee00-0000-4000-8000-000000000000",
                            "policyName": "TEN_SECONDLY_ROLLING",
                        },
                        {"Retry-After": str(retry_after)} if retry_after is not None else {},
                    )
                return status, {"status": "error", "message": "internal error"}, {}
            if method == "GET" and path == "/crm/v3/objects/companies":
                return (*self.list_companies(query), {})
            if method == "GET" and path == "/crm/v3/objects/deals":
                return (*self.list_deals(query), {})
            if method == "GET" and path.startswith("/crm/v3/objects/deals/"):
                return (*self.get_deal(path.rsplit("/", 1)[1], query), {})
            if method == "POST" and path == "/crm/v3/objects/companies/search":
                return (*self.search(body), {})
            if method == "POST" and path == "/crm/v3/objects/companies/batch/update":
                return (*self.batch_update(body), {})
            return 404, {"status": "error", "message": f"no route {method} {path}"}, {}


class _Handler(BaseHTTPRequestHandler):
    stub: HubSpotStub

    def _serve(self, method: str) -> None:
        url = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        status, payload, extra = self.stub.answer(method, url.path, parse_qs(url.query), self.headers, body)
        raw = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve(stub: HubSpotStub) -> tuple[ThreadingHTTPServer, str]:
    handler = type("StubHandler", (_Handler,), {"stub": stub})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"
