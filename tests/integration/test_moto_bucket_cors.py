"""moto's server answers a browser's upload to a bucket from the bucket's CORS rules, as S3 does
(infra/moto_patches.install_bucket_cors): the console's origin reads the answer, any other does not."""

from __future__ import annotations

import boto3
import requests

CONSOLE = "http://127.0.0.1:3000"


def test_an_upload_answers_the_origin_the_bucket_allows_and_no_other(moto_endpoint: str) -> None:
    s3 = boto3.client(
        "s3", region_name="us-east-1", endpoint_url=moto_endpoint, aws_access_key_id="x", aws_secret_access_key="y"
    )
    s3.create_bucket(Bucket="cors-check")
    rule = {"AllowedMethods": ["POST"], "AllowedOrigins": [CONSOLE], "MaxAgeSeconds": 3000}
    s3.put_bucket_cors(Bucket="cors-check", CORSConfiguration={"CORSRules": [rule]})
    form = s3.generate_presigned_post("cors-check", "imports/book.csv")

    def post(origin: str) -> requests.Response:
        files = {"file": ("book.csv", b"a,b\r\n1,2\r\n")}
        return requests.post(form["url"], data=form["fields"], files=files, headers={"Origin": origin}, timeout=10)

    allowed, other = post(CONSOLE), post("http://elsewhere.example")
    assert allowed.status_code == other.status_code == 204
    assert allowed.headers.get("Access-Control-Allow-Origin") == CONSOLE
    assert "Access-Control-Allow-Origin" not in other.headers  # stock moto's server echoed any origin
    preflight = requests.options(
        form["url"], headers={"Origin": "http://elsewhere.example", "Access-Control-Request-Method": "POST"}, timeout=10
    )
    assert "Access-Control-Allow-Origin" not in preflight.headers
