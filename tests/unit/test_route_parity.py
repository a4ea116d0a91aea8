"""Every Chalice route is a template `Api` event (same path, same method) and vice versa.

Chalice dispatches on `requestContext.resourcePath`, so a route missing on either side is a 403/404
or 405 in production while Chalice's own test client would still pass (docs/decisions/0003).
"""

from __future__ import annotations

import pytest

from infra.checks import chalice_routes, compare_routes, template_routes
from infra.functions import chalice_app
from infra.template import ApiRoute, api_routes

HTTP_FUNCTIONS = sorted({route.function_id for route in api_routes()})


def routes_of(function_id: str) -> list[ApiRoute]:
    return [route for route in api_routes() if route.function_id == function_id]


def test_the_template_has_http_functions_to_check():
    assert {"ApiFunction", "IngestFunction", "IntegrationsFunction"} <= set(HTTP_FUNCTIONS)


@pytest.mark.parametrize("function_id", HTTP_FUNCTIONS)
def test_chalice_routes_equal_the_template_routes_of_the_function(function_id):
    diff = compare_routes(chalice_routes(chalice_app(function_id)), template_routes(routes_of(function_id)))
    assert diff.ok, f"{function_id}:\n{diff}"


def test_no_template_route_or_chalice_route_uses_a_greedy_proxy():
    offenders = [f"{r.function_id} {r.method} {r.path}" for r in api_routes() if "+}" in r.path]
    for function_id in HTTP_FUNCTIONS:
        offenders += [
            f"{function_id} (Chalice) {path}" for path in chalice_routes(chalice_app(function_id)) if "+}" in path
        ]
    assert not offenders, offenders


def test_each_method_and_path_is_served_by_exactly_one_function():
    seen: dict[tuple[str, str], str] = {}
    for route in api_routes():
        key = (route.method, route.path)
        assert key not in seen, f"{route.method} {route.path} on both {seen[key]} and {route.function_id}"
        seen[key] = route.function_id


def test_the_checker_reports_a_route_missing_from_the_template_and_one_missing_from_the_app():
    app_routes = {
        "/v1/customers": frozenset({"GET", "POST"}),
        "/v1/customers/{customer_id}": frozenset({"GET"}),
    }
    template = [
        ApiRoute("ApiFunction", "ListCustomers", "GET", "/v1/customers", True),
        # POST /v1/customers removed from the template; an extra route added that the app lacks.
        ApiRoute("ApiFunction", "GetCustomer", "GET", "/v1/customers/{customer_id}", True),
        ApiRoute("ApiFunction", "DeleteCustomer", "DELETE", "/v1/customers/{customer_id}", True),
    ]
    diff = compare_routes(app_routes, template_routes(template))
    assert not diff.ok
    assert diff.only_in_app == [("POST", "/v1/customers")]
    assert diff.only_in_template == [("DELETE", "/v1/customers/{customer_id}")]
    assert "POST /v1/customers" in str(diff) and "DELETE /v1/customers/{customer_id}" in str(diff)


def test_the_checker_compares_exact_path_strings():
    # Same shape, different parameter name: Chalice would not match the template's resourcePath.
    template = [ApiRoute("ApiFunction", "Get", "GET", "/v1/customers/{customer_id}", True)]
    diff = compare_routes({"/v1/customers/{id}": frozenset({"GET"})}, template_routes(template))
    assert diff.only_in_app == [("GET", "/v1/customers/{id}")]
    assert diff.only_in_template == [("GET", "/v1/customers/{customer_id}")]


def test_the_checker_reads_a_real_chalice_app():
    from keepwell.http import create_app, route
    from keepwell.permissions import PUBLIC

    app = create_app("parity-probe")

    @route(app, "/v1/things/{thing_id}", methods=["GET", "PATCH"], permission=PUBLIC)
    def thing(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    assert chalice_routes(app) == {"/v1/things/{thing_id}": frozenset({"GET", "PATCH"})}
