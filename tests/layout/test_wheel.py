"""A built wheel, installed (not editable) into a fresh virtual environment, runs the emulator
and builds firmware: the firmware tree and the udev rules travel as package data.

The new environment gets the wheel without dependencies, and the dependencies through a path
line pointing at this environment's site-packages: nothing is downloaded, and this checkout's
editable install is not seen there (a path line does not run the .pth files it points at).
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from host.devtools.ports import free_port_pair

ROOT = Path(__file__).resolve().parents[2]


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kwargs)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A venv with the wheel of this checkout installed; returns its python."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout to copy the tracked files from")
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "src"
    source.mkdir()
    tracked = _run(["git", "ls-files", "-z"], cwd=ROOT).stdout.split("\0")
    for name in filter(None, tracked):
        src, dst = ROOT / name, source / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            dst.symlink_to(os.readlink(src))
        elif src.is_file():
            shutil.copy2(src, dst)
    wheels = tmp / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
          "-w", str(wheels), str(source)])
    (wheel,) = wheels.glob("qos_signer-*.whl")
    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    target = Path(purelib.stdout.strip())
    (target / "deps-from-test-env.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
          str(wheel)])
    shutil.rmtree(source)  # nothing may come from the copy it was built from
    return python


def test_the_wheel_carries_the_firmware_and_the_udev_rules(installed):
    code = (
        "import host, host.bridge\n"
        "from pathlib import Path\n"
        "from host.devtools import micropython\n"
        "print(Path(host.__file__).parent)\n"
        "print(micropython.FIRMWARE_DIR)\n"
        "print((Path(host.bridge.__file__).parent / 'udev' / '51-qos.rules').is_file())\n"
        "print((micropython.FIRMWARE_DIR / 'crypto' / 'bip39_english.txt').is_file())\n"
        "print(sorted(p.name for p in (micropython.FIRMWARE_DIR / 'micropython').iterdir()))\n"
    )
    # run away from the checkout: `python -c` puts the working directory first on sys.path
    lines = _run([str(installed), "-c", code], cwd=installed.parent).stdout.split("\n")
    prefix = str(installed.parent.parent)
    assert lines[0].startswith(prefix) and lines[1].startswith(prefix), lines
    assert lines[2:4] == ["True", "True"]
    assert {"unix", "esp32s3", "rp2350"} <= set(eval(lines[4]))  # noqa: S307 - our own output


def test_an_installed_qos_builds_firmware_and_runs_the_emulator(installed, tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp")}  # no build cached by the checkout
    (tmp_path / "tmp").mkdir()
    qos = installed.with_name("qos")
    out = tmp_path / "build"
    built = _run([str(qos), "fw", "build", "--board", "rp2350", "--production", "-o", str(out)],
                 env=env, cwd=tmp_path)
    assert "built production firmware for rp2350" in built.stdout
    assert (out / "main.py").is_file() and (out / "crypto" / "bip39_english.txt").is_file()
    assert not (out / "tools").exists()
    port = free_port_pair()
    png = tmp_path / "screen.png"
    shot = _run([str(qos), "emu", "--port", str(port), "--screenshot", str(png)], env=env,
                cwd=tmp_path)
    assert "screen saved" in shot.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
