"""Builds host.chain.native's modules with mypyc into the venv: `python -m host.devtools.native`.

`make setup` runs it; it does nothing while the build matches the sources, and without a C
compiler or mypyc it says so and leaves qosd on Python.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from host.chain.native import (
    MANIFEST,
    MODULES,
    NATIVE_DIR,
    ROOT,
    build_problem,
    source_digests,
    source_path,
)


def build(out: Path = NATIVE_DIR) -> None:
    from mypyc.build import mypycify
    from setuptools import Distribution

    sources = source_digests()
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path.cwd()
        os.chdir(ROOT)  # mypyc reads pyproject.toml's [tool.mypy] and names modules by path
        try:
            paths = [str(source_path(m).relative_to(ROOT)) for m in MODULES]
            extensions = mypycify(paths, opt_level="3", target_dir=f"{tmp}/c")
            dist = Distribution({"name": "qos-native", "ext_modules": extensions})
            command = dist.get_command_obj("build_ext")
            command.build_lib, command.build_temp = f"{tmp}/lib", f"{tmp}/obj"
            dist.run_command("build_ext")
        finally:
            os.chdir(cwd)
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        suffix = sysconfig.get_config_var("EXT_SUFFIX")
        files = {}
        for ext in extensions:  # named by the full module name: two may share the last part
            shutil.copy2(command.get_ext_fullpath(ext.name), out / (ext.name + suffix))
            files[ext.name] = ext.name + suffix
    if source_digests() != sources:
        raise RuntimeError("a source changed while it was compiled: run the build again")
    manifest = {"ext_suffix": suffix, "files": files, "sources": sources}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")


def has_c_compiler() -> bool:
    return shutil.which(sysconfig.get_config_var("CC").split()[0]) is not None


def main() -> int:
    reason = build_problem()
    if reason is None:
        print(f"qosd's compiled modules: up to date in {NATIVE_DIR}")
        return 0
    if not has_c_compiler():
        print("no C compiler: qosd runs as Python (install gcc, then make setup)")
        return 0
    print(f"compiling qosd's hot modules with mypyc into {NATIVE_DIR} ({reason})")
    # in a child whose compiler chatter is kept for a failure's report
    child = subprocess.run([sys.executable, "-c", "import host.devtools.native as n; n.build()"],
                           cwd=ROOT, capture_output=True, text=True)
    if child.returncode:
        print(f"the build failed, qosd runs as Python:\n{(child.stdout + child.stderr)[-3000:]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
