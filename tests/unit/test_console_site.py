"""The web console as the web function serves it: every console URL declared and public, content-hashed
assets cached for good, index.html revalidated, a strict CSP, every module reachable through the import
map, and the first load within its budget (docs/decisions/0023)."""

from __future__ import annotations

import gzip
import hashlib
import re
import shutil

import pytest

from infra.template import ROOT, api_routes
from keepwell.errors import NotFound
from keepwell.permissions import PUBLIC, TABLE
from keepwell.services.console_site import IMMUTABLE, ConsoleSite, console_config, content_security_policy
from tests.unit.test_route_parity import chalice_app

WEB = ROOT / "web"
FIRST_LOAD_BUDGET = 300 * 1024  # gzip bytes of JS + CSS


@pytest.fixture(scope="module")
def site() -> ConsoleSite:
    return ConsoleSite.load(WEB)


def test_the_function_packages_the_console_folder():
    # functions/web/console is the top-level web/ folder (a link), so `sam build` copies the same files.
    assert (ROOT / "functions" / "web" / "console").resolve() == WEB.resolve()


def test_every_console_route_is_public_and_declared_without_the_authorizer():
    routes = [r for r in api_routes() if r.function_id == "WebFunction"]
    assert {r.path for r in routes} >= {"/", "/customers", "/customers/{customer_id}", "/assets/{asset}"}
    assert all(not r.authorized and r.method == "GET" for r in routes)
    app = chalice_app("WebFunction")
    for path, methods in app.routes.items():
        for entry in methods.values():
            assert entry.view_function.keepwell_permission is PUBLIC, path


def test_assets_are_named_by_their_content_and_cached_for_good(site):
    name = site.urls["api.js"].removeprefix("/assets/")
    body, headers = site.asset(name)
    digest = hashlib.sha256((WEB / "api.js").read_bytes()).hexdigest()[:10]
    assert name == f"api.{digest}.js"
    assert body == (WEB / "api.js").read_text(encoding="utf-8")
    assert headers["Cache-Control"] == IMMUTABLE
    assert headers["Content-Type"].startswith("text/javascript")


def test_a_changed_file_gets_a_new_name_and_the_old_name_is_gone(tmp_path):
    copy = tmp_path / "web"
    shutil.copytree(WEB, copy)
    before = ConsoleSite.load(copy)
    (copy / "widgets.js").write_text((copy / "widgets.js").read_text() + "\n// changed\n")
    after = ConsoleSite.load(copy)
    assert before.urls["widgets.js"] != after.urls["widgets.js"]
    assert before.urls["api.js"] == after.urls["api.js"]
    with pytest.raises(NotFound):
        after.asset(before.urls["widgets.js"].removeprefix("/assets/"))


def test_unknown_or_unhashed_asset_names_are_not_found(site):
    for name in ("api.js", "../template.yaml", "nothing.0000000000.js"):
        with pytest.raises(NotFound):
            site.asset(name)


def test_index_is_revalidated_and_allows_only_its_own_scripts_and_the_import_map(site):
    html, headers = site.page()
    assert headers["Cache-Control"] == "no-cache"
    csp = headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, re.S)
    assert len(inline) == 1  # the import map, allowed by its hash
    import base64

    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp
    assert not re.search(r"<[^>]+\son\w+=", html), "inline event handler"
    assert csp == content_security_policy(digest)


def test_every_console_import_resolves_through_the_import_map(site):
    html, _ = site.page()
    mapped = set(re.findall(r'"(kw/[^"]+)"', html))
    for path in WEB.rglob("*.js"):
        for name in re.findall(r'from "(kw/[^"]+)"', path.read_text(encoding="utf-8")):
            assert name in mapped, f"{path.name} imports {name}, which index.html does not map"
        assert not re.search(r'from "\.', path.read_text(encoding="utf-8")), f"{path.name}: relative import"


def test_the_stage_path_prefixes_every_url_on_the_execute_api_host(site):
    html, _ = site.page("/prod")
    assert '<meta name="kw-base" content="/prod">' in html
    urls = [url for url in re.findall(r'(?:src|href)="([^"#][^"]*)"', html)]
    assert urls and all(url.startswith("/prod/assets/") for url in urls), urls


def test_the_first_load_is_within_its_gzip_budget(site):
    # Every module is preloaded, so the first load is every JS and CSS file.
    total = sum(
        len(gzip.compress(asset.body.encode(), 9))
        for asset in site.assets.values()
        if asset.url.endswith((".js", ".css"))
    )
    assert 0 < total <= FIRST_LOAD_BUDGET, f"{total} bytes gzip"


def test_two_console_files_of_one_name_are_refused(tmp_path):
    copy = tmp_path / "web"
    shutil.copytree(WEB, copy)
    (copy / "screens" / "api.js").write_text("export {};\n")
    with pytest.raises(ValueError, match="share a name"):
        ConsoleSite.load(copy)


def test_the_config_carries_the_local_sign_in_or_the_oidc_settings_and_the_permission_table():
    local = console_config({"CONSOLE_AUTH_CONFIG": '{"mode": "local", "demo_users": []}'})
    assert local["auth"]["mode"] == "local"
    deployed = console_config({"JWT_ISSUER": "https://issuer.example", "JWT_AUDIENCE": "client-1"})
    assert (
        deployed["auth"] | {"mode": "oidc", "client_id": "client-1", "redirect_path": "/callback"} == deployed["auth"]
    )
    assert deployed["permissions"]["health_model"]["configure"] == sorted(TABLE["health_model"]["configure"])


def test_no_console_file_loads_anything_from_another_origin():
    for path in list(WEB.rglob("*.js")) + list(WEB.rglob("*.css")) + [WEB / "index.html"]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"""(?:src|href|import|url)\s*\(?\s*["']https?://""", text), path.name


def test_console_files_are_text_the_function_can_serve(site):
    known = {p.relative_to(WEB).as_posix() for p in WEB.rglob("*") if p.is_file() and p.name != "index.html"}
    assert known == set(site.urls), "a console file of a type the function does not serve"


def test_every_link_a_screen_builds_carries_the_stage_path():
    # Deployed, the console lives under /<Stage>/: a bare href="/customers/…" (a playbook run's customer,
    # the sign-in's "Try again") led to the API's "No route" instead of the console. `link()` adds BASE.
    bare = re.compile(r"""href:\s*[`"']/""")
    found = [
        f"{path.relative_to(WEB)}:{n}: {line.strip()}"
        for path in sorted(WEB.rglob("*.js"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if bare.search(line)
    ]
    assert not found, found


def test_the_page_lets_the_browser_post_import_files_where_the_api_signs_its_upload_forms(aws, site):
    """The Imports screen posts the file with the presigned form straight to the bucket: the page's CSP
    names exactly the origin of the form's `url`, on AWS (the bucket's host) and locally (moto, by path)."""
    import os
    from urllib.parse import urlsplit

    from infra.template import function_environment, load_template
    from keepwell.adapters import files
    from keepwell.adapters.aws import reset_clients
    from keepwell.services.console_site import upload_connect_sources
    from keepwell.settings import reset_settings

    web_env = function_environment(load_template(), "WebFunction", aws)
    assert web_env["IMPORT_BUCKET_NAME"] == os.environ["IMPORT_BUCKET_NAME"]
    try:
        # On AWS in two regions (boto3 signs for the bucket's global host in both), and on moto.
        for region, endpoint in (("us-east-1", None), ("eu-west-1", None), ("us-east-1", "http://127.0.0.1:5123")):
            env = dict(web_env)
            os.environ["AWS_REGION"] = region
            if endpoint:
                env["AWS_ENDPOINT_URL"] = os.environ["AWS_ENDPOINT_URL"] = endpoint
            reset_settings()
            reset_clients()
            form_url = urlsplit(files.presigned_upload("imports/ws/imp/upload.csv", 10, 60)["url"])
            origin = f"{form_url.scheme}://{form_url.netloc}"
            assert upload_connect_sources(env) == (origin,), form_url
            _, headers = site.page("", upload_connect_sources(env))
            connect = next(d for d in headers["Content-Security-Policy"].split("; ") if d.startswith("connect-src"))
            assert connect == f"connect-src 'self' {origin}"
    finally:
        os.environ.pop("AWS_ENDPOINT_URL", None)
        reset_clients()  # no client of the made-up endpoint is left for the next test
    assert upload_connect_sources({}) == ()


def test_the_import_bucket_takes_posts_from_the_console_origin_only():
    """CORS of the import bucket: POST from ConsoleUrl's origin (its stage path is not part of it)."""
    from infra.template import Resolver, load_template

    rules = load_template()["Resources"]["ImportBucket"]["Properties"]["CorsConfiguration"]["CorsRules"]
    for console, origin in (
        (
            "https://abc123.execute-api.eu-west-1.amazonaws.com/Prod",
            "https://abc123.execute-api.eu-west-1.amazonaws.com",
        ),
        ("https://cs.example.com", "https://cs.example.com"),
        ("http://127.0.0.1:3000", "http://127.0.0.1:3000"),
    ):
        resolved = Resolver(parameters={"ConsoleUrl": console}, physical={}).resolve(rules)
        assert resolved == [{"AllowedMethods": ["POST"], "AllowedOrigins": [origin], "MaxAge": 3000}]
