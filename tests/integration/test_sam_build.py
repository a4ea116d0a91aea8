"""`sam build` packages what Lambda will run, and each built handler imports from its own folder plus
the layer alone: a missing layer dependency or a function importing repo-only code fails here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.template import (
    ROOT,
    TEMPLATE_PATH,
    Resolver,
    evaluate_conditions,
    function_environment,
    load_template,
    resources_of_type,
)

pytestmark = pytest.mark.slow

TEMPLATE = load_template()
FUNCTIONS = resources_of_type(TEMPLATE, "AWS::Serverless::Function")
LAYER_ID = "SharedLayer"

# Runs in the fresh interpreter: Lambda's path is the function folder, then the layer's python/.
IMPORT_PROBE = """
import importlib, json, sys
function_dir, layer_dir, module_name, attribute = sys.argv[1:5]
sys.path[:0] = [function_dir, layer_dir]
module = importlib.import_module(module_name)
handler = getattr(module, attribute)
import keepwell

def compiled_from_source(module):
    # a module of the layer loaded without the build's bytecode: compiled at import, on every cold start
    source, cached = getattr(module, "__file__", None) or "", getattr(module, "__cached__", None)
    if not source.startswith(layer_dir) or not source.endswith(".py"):
        return False
    try:
        with open(cached, "rb") as pyc:
            header = pyc.read(8)
    except (OSError, TypeError):
        return True
    return int.from_bytes(header[4:8], "little") != 0b01  # hash-based, source not checked (PEP 552)

print(json.dumps({"callable": callable(handler), "module_file": module.__file__,
                  "keepwell_file": keepwell.__file__, "chalice_loaded": "chalice" in sys.modules,
                  "repo_on_path": [p for p in sys.path if p.startswith(sys.argv[5])],
                  "compiled_from_source": sorted(n for n, m in list(sys.modules.items()) if compiled_from_source(m))}))
"""


def sam_cli() -> str:
    sam = os.environ.get("KEEPWELL_SAM")
    if not sam:
        if os.environ.get("CI"):
            pytest.fail("KEEPWELL_SAM is not set under CI: `make test` sets it to .venv-sam/bin/sam")
        pytest.skip("KEEPWELL_SAM is not set (the SAM CLI's path; `make test` sets it)")
    if not Path(sam).exists():
        pytest.fail(f"KEEPWELL_SAM points at {sam}, which does not exist")
    return sam


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One `sam build` per test session (about a minute: the layer's requirements come from PyPI)."""
    sam = sam_cli()
    work = tmp_path_factory.mktemp("sam")
    build = work / "build"
    env = {
        **os.environ,
        "SAM_CLI_TELEMETRY": "0",
        "SAM_CLI_DISABLE_UPDATE_CHECK": "1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }
    # sam's python3.11 builder must find the same interpreter family the venv runs on.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    result = subprocess.run(
        [
            sam,
            "build",
            "--template",
            str(TEMPLATE_PATH),
            "--build-dir",
            str(build),
            "--base-dir",
            str(ROOT),
            "--cache-dir",
            str(work / "cache"),
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, f"sam build failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return build


def lambda_like_environment(function_id: str) -> dict[str, str]:
    """The function's template environment with made-up physical names, and nothing from this machine."""
    physical = {
        logical_id: {
            "Ref": f"keepwell-test-{logical_id}",
            "Arn": f"arn:aws:sqs:us-east-1:123456789012:keepwell-test-{logical_id}",
            "QueueName": f"keepwell-test-{logical_id}",
        }
        for logical_id in TEMPLATE["Resources"]
    }
    parameters = {name: str(spec.get("Default", "")) for name, spec in TEMPLATE.get("Parameters", {}).items()}
    resolver = Resolver(parameters, physical)
    resolver.conditions = evaluate_conditions(TEMPLATE, resolver)  # Globals choose the issuer with Fn::If
    env = function_environment(TEMPLATE, function_id, resolver)
    return {
        **env,
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": f"keepwell-test-{function_id}",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }


def test_the_layer_carries_the_shared_package_and_its_pinned_dependencies(build_dir):
    layer = build_dir / LAYER_ID / "python"
    assert (layer / "keepwell" / "__init__.py").is_file()
    assert (layer / "keepwell" / "services").is_dir()
    installed = {p.name.split("-")[0].lower() for p in layer.glob("*.dist-info")}
    for package in ("aws_lambda_powertools", "boto3", "pynamodb", "chalice", "pydantic", "pyjwt", "httpx"):
        assert package in installed, f"{package} missing from the built layer"


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_built_function_holds_its_code_but_not_the_shared_package(build_dir, function_id):
    function_dir = build_dir / function_id
    module = FUNCTIONS[function_id]["Properties"]["Handler"].rsplit(".", 1)[0]
    assert (function_dir / f"{module.replace('.', '/')}.py").is_file()
    # keepwell must come from the layer only: a second copy would shadow it with stale code.
    assert not (function_dir / "keepwell").exists()
    assert not list(function_dir.glob("keepwell*.dist-info"))


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_built_handler_imports_in_a_fresh_interpreter_from_its_folder_and_the_layer(build_dir, function_id):
    function_dir = build_dir / function_id
    layer_dir = build_dir / LAYER_ID / "python"
    module, attribute = FUNCTIONS[function_id]["Properties"]["Handler"].rsplit(".", 1)
    # -I: no PYTHONPATH, no user site, no cwd; -S: no site-packages (the venv's packages stay invisible),
    # so the import succeeds only with what the function folder and the layer carry. -B: nothing compiled
    # is written into the build, as on Lambda's read-only filesystem.
    result = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-B",
            "-c",
            IMPORT_PROBE,
            str(function_dir),
            str(layer_dir),
            module,
            attribute,
            str(ROOT),
        ],
        cwd=function_dir,
        env=lambda_like_environment(function_id),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"{function_id}: import failed\n{result.stderr[-4000:]}"
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["callable"], f"{function_id}: {attribute} is not callable"
    assert Path(report["module_file"]).parent == function_dir
    assert Path(report["keepwell_file"]).is_relative_to(layer_dir)
    assert report["repo_on_path"] == []
    # Lambda's /opt is read-only: a module the layer ships without bytecode is compiled on every cold start
    # (shared/Makefile compiles them all; decision 0027, "Bytecode in the layer").
    assert report["compiled_from_source"] == [], f"{function_id}: compiled at import"
    # Chalice is only for the HTTP functions: the queue and event consumers keep their cold start lean.
    events = (FUNCTIONS[function_id]["Properties"].get("Events") or {}).values()
    is_http = any(e["Type"] == "Api" for e in events)
    assert report["chalice_loaded"] == is_http, f"{function_id}: chalice imported={report['chalice_loaded']}"


def test_the_web_function_carries_the_console_files_not_a_link(build_dir):
    console = build_dir / "WebFunction" / "console"
    assert not console.is_symlink()  # the repo's link to web/ is copied as the files themselves
    for name in ("index.html", "app.js", "api.js", "console.css", "screens/portfolio/portfolio.js"):
        assert (console / name).is_file(), name
        assert (console / name).read_bytes() == (ROOT / "web" / name).read_bytes(), name
