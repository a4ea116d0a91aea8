"""The web console's files as the web function serves them (docs/decisions/0023-console-served-by-a-web-function.md).

At cold start every file under the console folder is read once and named by its content hash
(`api.js` → `/assets/api.3f2a9c1d0b.js`), so a changed file gets a new URL and every asset can be
cached for a year as `immutable`; only `index.html` is revalidated. No build step: the hashing is
done here, from the same files the local stack serves.

The modules import each other by bare names (`import { api } from "kw/api.js"`); `index.html`
receives an import map from those names to the hashed URLs, plus a `modulepreload` link per module
so the browser fetches them in parallel. The import map is the page's only inline script and the
Content-Security-Policy allows exactly it by its SHA-256 — no `unsafe-inline`, no `unsafe-eval`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from keepwell.errors import NotFound

ASSET_PREFIX = "/assets/"
MODULE_PREFIX = "kw/"  # bare import names of the console's own modules
INDEX = "index.html"
CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
}
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"  # index.html: always asked again, so a deploy is picked up at once
HASH_CHARS = 10
Headers = dict[str, str | list[str]]  # as Chalice's Response takes them
# Placeholders index.html carries; filled at cold start.
IMPORT_MAP_MARK = "<!-- import-map -->"
PRELOAD_MARK = "<!-- module-preloads -->"
BASE_META_MARK = "<!-- base-path -->"
BASE_MARK = "{{base}}"
SECURITY_HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


@dataclass(frozen=True)
class Asset:
    url: str  # /assets/<stem>.<hash>.<ext>
    body: str
    content_type: str


@dataclass
class ConsoleSite:
    """The console, hashed and ready to serve."""

    index_template: str  # index.html with the hashed URLs, the base path still to fill in
    assets: dict[str, Asset] = field(default_factory=dict)  # asset file name (no prefix) → asset
    urls: dict[str, str] = field(default_factory=dict)  # source path (relative) → hashed URL

    @classmethod
    def load(cls, root: Path) -> ConsoleSite:
        assets: dict[str, Asset] = {}
        urls: dict[str, str] = {}
        names: dict[tuple[str, str], str] = {}
        for path in sorted(root.rglob("*")):
            if not path.is_file() or path.name == INDEX or path.suffix not in CONTENT_TYPES:
                continue
            body = path.read_text(encoding="utf-8")
            digest = hashlib.sha256(body.encode()).hexdigest()[:HASH_CHARS]
            name = f"{path.stem}.{digest}{path.suffix}"
            relative = path.relative_to(root).as_posix()
            # Hashed names are flat (one route, /assets/{asset}): two files of one name would collide.
            clash = names.setdefault((path.stem, path.suffix), relative)
            if clash != relative:
                raise ValueError(f"console files {clash} and {relative} share a name; rename one")
            assets[name] = Asset(ASSET_PREFIX + name, body, CONTENT_TYPES[path.suffix])
            urls[relative] = ASSET_PREFIX + name
        template = (root / INDEX).read_text(encoding="utf-8")
        for source, url in urls.items():  # the stylesheet, the entry module, the icon
            template = template.replace(f'"/{source}"', f'"{BASE_MARK}{url}"')
        preloads = "\n    ".join(
            f'<link rel="modulepreload" href="{BASE_MARK}{url}">'
            for source, url in urls.items()
            if source.endswith(".js")
        )
        return cls(index_template=template.replace(PRELOAD_MARK, preloads), assets=assets, urls=urls)

    def import_map(self, base: str) -> str:
        modules = {MODULE_PREFIX + source: base + url for source, url in self.urls.items() if source.endswith(".js")}
        return json.dumps({"imports": modules}, separators=(",", ":"), sort_keys=True)

    # ---- answers ------------------------------------------------------------------------------
    def page(self, base: str = "", extra_connect_sources: tuple[str, ...] = ()) -> tuple[str, Headers]:
        """index.html (every console URL answers it) with its headers. `base` is the path the console is
        mounted under: "" on a custom domain and locally, "/<stage>" on the execute-api host."""
        import_map = self.import_map(base)
        html = self.index_template.replace(BASE_MARK, base).replace(
            IMPORT_MAP_MARK, f'<script type="importmap">{import_map}</script>'
        )
        html = html.replace(BASE_META_MARK, f'<meta name="kw-base" content="{base}">')
        digest = base64.b64encode(hashlib.sha256(import_map.encode()).digest()).decode()
        return html, {
            "Content-Type": "text/html; charset=utf-8",
            "Cache-Control": REVALIDATE,
            "Content-Security-Policy": content_security_policy(digest, extra_connect_sources),
            **SECURITY_HEADERS,
        }

    def asset(self, name: str) -> tuple[str, Headers]:
        found = self.assets.get(name)
        if found is None:
            raise NotFound(f"No console asset {name}")
        return found.body, {"Content-Type": found.content_type, "Cache-Control": IMMUTABLE, **SECURITY_HEADERS}


def content_security_policy(import_map_hash: str, extra_connect_sources: tuple[str, ...] = ()) -> str:
    """Scripts only from the console's own origin plus the one inline import map (by its hash)."""
    connect = " ".join(("'self'", *extra_connect_sources))
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src 'self' 'sha256-{import_map_hash}'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src {connect}",
            "form-action 'self'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        )
    )


def auth_connect_sources(config: dict[str, Any]) -> tuple[str, ...]:
    """Origins the console's sign-in talks to besides its own (the OIDC token endpoint)."""
    sources = []
    for key in ("token_url", "issuer"):
        value = config.get(key)
        if isinstance(value, str) and value.startswith("https://"):
            parts = urlsplit(value)
            sources.append(f"{parts.scheme}://{parts.netloc}")
    return tuple(dict.fromkeys(sources))


def upload_connect_sources(env: dict[str, str]) -> tuple[str, ...]:
    """The origin the console posts import files to: the `url` of the presigned form
    (`keepwell.adapters.files.presigned_upload`), which boto3 builds from the S3 endpoint the functions
    are given (`AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL`: moto's server locally, the bucket as a path)
    or, on AWS, from the bucket's own host. Worked out from the same settings rather than by signing a
    form, so the web function needs no AWS client; tests/unit/test_console_site.py checks the two agree."""
    bucket = env.get("IMPORT_BUCKET_NAME", "")
    if not bucket:
        return ()
    endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    if endpoint:
        parts = urlsplit(endpoint)
        return (f"{parts.scheme}://{parts.netloc}",)
    return (f"https://{bucket}.s3.amazonaws.com",)


def console_config(env: dict[str, str]) -> dict[str, Any]:
    """What the console needs before anyone signs in: how to sign in, and the permission table (so it
    hides the controls a role may not use; the API still decides and the console shows its refusal).

    The local stack sets `CONSOLE_AUTH_CONFIG` (its demo users); deployed, the OIDC settings come from
    the template's parameters."""
    from keepwell.permissions import TABLE

    raw = env.get("CONSOLE_AUTH_CONFIG", "")
    auth: dict[str, Any] = (
        json.loads(raw)
        if raw
        else {
            "mode": "oidc",
            "issuer": env.get("JWT_ISSUER", ""),
            "client_id": env.get("CONSOLE_CLIENT_ID") or env.get("JWT_AUDIENCE", ""),
            "authorize_url": env.get("CONSOLE_AUTHORIZE_URL", ""),
            "token_url": env.get("CONSOLE_TOKEN_URL", ""),
            "scopes": env.get("CONSOLE_SCOPES", "openid email profile"),
            "redirect_path": "/callback",
        }
    )
    permissions = {
        feature: {action: sorted(roles) for action, roles in actions.items()} for feature, actions in TABLE.items()
    }
    return {"auth": auth, "permissions": permissions}
