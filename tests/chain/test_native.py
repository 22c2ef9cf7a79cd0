"""host/chain/native.py: qosd runs its compiled modules, they compute exactly what the Python ones
do, and a build that does not match its sources is never loaded."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from host.chain import native
from host.devtools.native import has_c_compiler
from host.devtools.ports import free_block

REPO = Path(__file__).resolve().parents[2]

needs_build = pytest.mark.skipif(
    not has_c_compiler(),
    reason="no C compiler: qosd runs as Python (make setup compiles its modules where gcc is)")


def _scenario(*args: str) -> tuple[int, dict]:
    out = subprocess.run([sys.executable, "-m", "tests.chain.native_scenario", *args], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode in (0, 3), out.stderr[-3000:]
    return out.returncode, json.loads(out.stdout)


@needs_build
def test_make_setup_built_the_modules_from_these_sources():
    assert native.build_problem() is None


@needs_build
def test_a_compiled_validator_answers_byte_for_byte_what_the_python_one_does():
    _, python = _scenario("python")
    _, compiled = _scenario("compiled", str(native.NATIVE_DIR))
    assert python["compiled"] == [] and compiled["compiled"] == sorted(native.MODULES)
    counters = python["abci"]["counters"]
    assert counters["txs_committed"] == 18 and counters["txs_failed"] == 18  # both kinds ran
    assert 0 < python["cbor"]["refused"] < 4000
    assert compiled["abci"] == python["abci"]  # the app hash of every block
    assert compiled["digest"] == python["digest"]  # every ABCI answer, index page, CBOR verdict


def _tampered(tmp_path: Path, change) -> Path:
    build = tmp_path / "build"
    shutil.copytree(native.NATIVE_DIR, build)
    manifest = json.loads((build / native.MANIFEST).read_text())
    change(manifest)
    (build / native.MANIFEST).write_text(json.dumps(manifest))
    return build


@needs_build
@pytest.mark.parametrize("change, reason", [
    (lambda m: m["sources"].update({"host.core.cbor": "0" * 64}),
     "stale build: host.core.cbor changed since"),
    (lambda m: m["sources"].pop("host.core.cbor"), "built from another list of modules"),
    (lambda m: m.update(ext_suffix=".cpython-310-x86_64-linux-gnu.so"), "built for another Python"),
], ids=["edited source", "module list", "python"])
def test_a_build_that_does_not_match_stays_unloaded(tmp_path, change, reason):
    code, report = _scenario("compiled", str(_tampered(tmp_path, change)))
    assert code == 3 and report["error"].startswith(reason), report


def test_nothing_loads_once_a_module_is_imported_as_python():
    """A compiled module calling into a Python copy of another would crash: enable() refuses."""
    import host.core.cbor  # noqa: F401 - what the test suite itself already did

    finders = list(sys.meta_path)
    assert native.enable().endswith("was already imported as Python")
    assert sys.meta_path == finders


@needs_build
@pytest.mark.parametrize("pure", [False, True], ids=["compiled", "QOSD_PURE_PYTHON"])
def test_qosd_start_says_which_it_runs(tmp_path, pure):
    from host.cli.qosd import main as qosd

    home = tmp_path / "node"
    assert qosd(["init", "--home", str(home), "--api", f"127.0.0.1:{free_block(1)}"]) == 0
    env = {"PATH": "/usr/bin:/bin", **({"QOSD_PURE_PYTHON": "1"} if pure else {})}
    proc = subprocess.Popen([sys.executable, "-m", "host.cli.qosd", "start", "--home", str(home)],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    lines = []
    try:
        for line in proc.stderr:  # up to the API's line: the node is running by then
            lines.append(line.rstrip())
            if "API on http" in line:
                break
    finally:
        proc.terminate()
        proc.wait(30)
    expected = "off: QOSD_PURE_PYTHON is set" if pure else f"on ({native.NATIVE_DIR})"
    said = [line for line in lines if "compiled modules" in line]
    assert len(said) == 1 and said[0].endswith(f"compiled modules: {expected}"), lines


@needs_build
def test_the_codec_and_application_tests_pass_on_the_compiled_modules():
    """The in-process suites of the compiled modules' users, run again with them loaded: the
    codec (vectors, firmware cross-checks, hostile input) and every app-level chain test. Left
    out: tests that start nodes (they run qosd, which loads the build anyway) and one that
    counts calls by patching module functions, which compiled callers do not see."""
    skip = ("cometbft or e2e or gov_upgrade or relayer or crash or durability or qosd_join or "
            "test_ops")
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.native_plugin", "-q", "-p",
         "no:cacheprovider", "tests/codec", "tests/chain", "--ignore", "tests/chain/test_native.py",
         "--deselect", "tests/chain/test_api.py::test_the_tx_path_checks_and_encodes_a_tx_once",
         "-k", f"not ({skip})"],
        cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, out.stdout[-4000:]  # the plugin refuses to run them as Python
