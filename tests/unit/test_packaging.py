"""What runs in Lambda is what the tests ran: the layer's pins are the project's pins, and every
function folder is packaged the same way (code only; dependencies come from the layer)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from infra.template import ROOT, load_template, resources_of_type

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
LAYER_REQUIREMENTS = ROOT / "shared" / "requirements.txt"
FUNCTIONS = resources_of_type(load_template(), "AWS::Serverless::Function")


def function_folders() -> list[Path]:
    folders = (ROOT / "functions").iterdir()
    return sorted(p for p in folders if p.is_dir() and not p.name.startswith((".", "_")))


def requirement_lines(path: Path) -> list[str]:
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def normalized(requirement: str) -> str:
    """Spelling-insensitive form: `PyJWT[crypto] == 2.15.1` and `pyjwt[crypto]==2.15.1` are equal."""
    parsed = Requirement(requirement)
    extras = f"[{','.join(sorted(parsed.extras))}]" if parsed.extras else ""
    marker = f"; {parsed.marker}" if parsed.marker else ""
    return f"{canonicalize_name(parsed.name)}{extras}{parsed.specifier}{marker}"


def test_layer_requirements_equal_the_project_runtime_dependencies():
    project = [normalized(r) for r in PYPROJECT["project"]["dependencies"]]
    layer = [normalized(r) for r in requirement_lines(LAYER_REQUIREMENTS)]
    assert len(layer) == len(set(layer)), "shared/requirements.txt lists a package twice"
    missing_from_layer = sorted(set(project) - set(layer))
    not_in_project = sorted(set(layer) - set(project))
    assert not missing_from_layer and not not_in_project, (
        f"only in pyproject.toml: {missing_from_layer}; only in shared/requirements.txt: {not_in_project}"
    )


def test_every_runtime_dependency_is_pinned_exactly():
    # An unpinned layer dependency means the deployed versions drift from the tested ones.
    for line in requirement_lines(LAYER_REQUIREMENTS):
        specifiers = list(Requirement(line).specifier)
        assert len(specifiers) == 1 and specifiers[0].operator == "==", f"not pinned with ==: {line}"


def test_the_pins_comparison_notices_a_drifted_version():
    assert normalized("PyJWT[crypto]==2.15.1") == normalized("pyjwt[crypto] == 2.15.1")
    assert normalized("pydantic==2.14.3") != normalized("pydantic==2.14.4")
    assert normalized("aws-lambda-powertools[tracer]==3.37.0") != normalized("aws-lambda-powertools==3.37.0")


def test_every_function_folder_has_a_requirements_file_that_adds_nothing_beside_the_layer():
    folders = function_folders()
    assert folders
    layer_names = {canonicalize_name(Requirement(r).name) for r in requirement_lines(LAYER_REQUIREMENTS)}
    for folder in folders:
        requirements = folder / "requirements.txt"
        assert requirements.is_file(), f"{folder.name} has no requirements.txt (sam build expects one)"
        for line in requirement_lines(requirements):
            try:
                name = canonicalize_name(Requirement(line).name)
            except InvalidRequirement as error:  # pragma: no cover - shown as a failure message
                raise AssertionError(f"{requirements}: {line!r} is not a requirement") from error
            # A second copy in the function package would shadow the layer's pinned version.
            assert name not in layer_names, f"{folder.name}/requirements.txt repeats layer package {name}"


def test_function_folders_and_template_functions_match_one_to_one():
    code_uris = {(ROOT / f["Properties"]["CodeUri"]).resolve() for f in FUNCTIONS.values()}
    folders = {p.resolve() for p in function_folders()}
    assert folders == code_uris, f"without a function: {folders - code_uris}; missing: {code_uris - folders}"


def test_the_layer_python_matches_the_project_python():
    runtime = load_template()["Globals"]["Function"]["Runtime"]  # e.g. python3.11
    version = runtime.removeprefix("python")
    assert PYPROJECT["project"]["requires-python"].startswith(f">={version}")
    assert PYPROJECT["tool"]["ruff"]["target-version"] == "py" + version.replace(".", "")
