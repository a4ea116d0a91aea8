"""S3: the import bucket. Uploads go straight from the browser by a presigned POST (S3 enforces the
size limit in the signed policy); reads are streamed in chunks, never whole."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from botocore.exceptions import ClientError

from keepwell.adapters.aws import client
from keepwell.settings import get_settings

CHUNK_BYTES = 256 * 1024


@dataclass(frozen=True)
class StoredFile:
    size: int
    etag: str


class FileChanged(RuntimeError):
    """The object is no longer the one first read (re-uploaded meanwhile)."""


def _bucket() -> str:
    return get_settings().import_bucket_name


def presigned_upload(key: str, max_bytes: int, expires_in: int) -> dict[str, Any]:
    """A form the browser POSTs the file with: url + fields (the policy allows this key and size only)."""
    form = client("s3").generate_presigned_post(
        Bucket=_bucket(),
        Key=key,
        Conditions=[["content-length-range", 1, max_bytes]],
        ExpiresIn=expires_in,
    )
    return {"url": form["url"], "fields": form["fields"]}


def attachment(filename: str) -> str:
    """A Content-Disposition for a download named by the user: an ASCII `filename` (quotes, control
    characters and anything outside printable ASCII become `_`) for old clients, and the exact name as
    RFC 6266 / 5987 `filename*`. The name comes from the import's body, so it must not be able to end
    the quoted string or the header."""
    plain = re.sub(r'[^\x20-\x7e]|["\\]', "_", filename)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


def presigned_download(key: str, filename: str, expires_in: int) -> str:
    return str(
        client("s3").generate_presigned_url(
            "get_object",
            Params={
                "Bucket": _bucket(),
                "Key": key,
                "ResponseContentType": "text/csv; charset=utf-8",
                "ResponseContentDisposition": attachment(filename),
            },
            ExpiresIn=expires_in,
        )
    )


def describe(key: str) -> StoredFile | None:
    try:
        head = client("s3").head_object(Bucket=_bucket(), Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    return StoredFile(size=int(head["ContentLength"]), etag=str(head["ETag"]))


def read_start(key: str, length: int, etag: str) -> bytes:
    response = _get(key, etag, Range=f"bytes=0-{length - 1}")
    return bytes(response["Body"].read())


def stream(key: str, etag: str | None) -> Iterator[bytes]:
    """The object in chunks; refuses to read another version than `etag` (when given)."""
    body = _get(key, etag)["Body"]
    try:
        yield from body.iter_chunks(CHUNK_BYTES)
    finally:
        body.close()


def _get(key: str, etag: str | None, **extra: Any) -> Any:
    if etag is not None:
        extra["IfMatch"] = etag
    try:
        return client("s3").get_object(Bucket=_bucket(), Key=key, **extra)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412"):
            raise FileChanged(f"{key} was replaced after it was checked") from error
        raise


def upload(key: str, path: str, content_type: str = "text/csv; charset=utf-8") -> None:
    client("s3").upload_file(path, _bucket(), key, ExtraArgs={"ContentType": content_type})
