"""`qos fw flash` never puts a .mpy file on a board whose MicroPython would refuse it
(host/devtools/deploy.py): the board's format is read first; viper modules in a format it cannot
load go as source, bytecode of another major version is refused, and the whole tree is copied in
one mpremote session. The real MicroPython unix port plays the board where a VM is needed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from host.devtools import deploy, firmware, micropython

VIPER = "crypto/_sha512_viper"


def board_format() -> deploy.MpyFormat:
    return deploy.MpyFormat.of_board(int(micropython.run(deploy.PROBE).strip()))


def imports(folder: Path, module: str) -> str:
    """What the unix port prints importing ``module`` from ``folder`` only (its errors too)."""
    proc = subprocess.run(
        [micropython.executable(), "-c", f"import {module.replace('/', '.')}; print('ok')"],
        capture_output=True,
        text=True,
        env={**micropython.environment(), "MICROPYPATH": str(folder)},
        cwd=folder,
        timeout=60,
    )
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def unix_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return firmware.build(tmp_path_factory.mktemp("unix") / "tree",
                          firmware.BuildSpec("unix", production=True))


def test_a_tree_the_board_reads_goes_over_as_built(unix_tree):
    files = deploy.plan(unix_tree, board_format())
    assert all(src.is_relative_to(unix_tree) for src, _ in files)
    assert len(files) == sum(1 for p in unix_tree.rglob("*") if p.is_file()) - 1  # not BUILD


def test_a_viper_module_the_board_would_refuse_goes_as_source_and_then_imports(
    unix_tree, tmp_path
):
    tree = Path(shutil.copytree(unix_tree, tmp_path / "tree"))
    viper = tree / f"{VIPER}.mpy"
    header = bytearray(viper.read_bytes())
    assert header[2] >> 2 == 2  # native code for x64
    header[2] = (header[2] & ~3) | 2  # as a v6.2 mpy-cross (MicroPython 1.22) writes it
    viper.write_bytes(bytes(header))
    assert "incompatible .mpy file" in imports(tree, VIPER)  # the real VM refuses it
    files = deploy.plan(tree, board_format())
    as_source = [rel for src, rel in files if not src.is_relative_to(tree)]
    assert as_source == [f"{VIPER}.py"]
    staged = deploy.stage(files, tmp_path / "staged")
    assert not (staged / f"{VIPER}.mpy").exists()
    assert imports(staged, VIPER).strip() == "ok"


@pytest.mark.parametrize(
    ("board", "tree_board", "as_source"),
    [
        (deploy.MpyFormat(6, 2, 10), "esp32s3", True),  # ESP32-S3 on MicroPython 1.22
        (deploy.MpyFormat(6, 3, 10), "esp32s3", False),  # the same on 1.28
        (deploy.MpyFormat(6, 3, 8), "rp2350", False),  # armv7emsp code on an armv7emdp core
        (deploy.MpyFormat(6, 3, 5), "rp2350", True),  # on a Cortex-M3: not the CPU's code
    ],
)
def test_native_modules_go_as_source_exactly_where_the_board_cannot_load_them(
    tmp_path, board, tree_board, as_source
):
    tree = firmware.build(tmp_path / "tree", firmware.BuildSpec(tree_board, production=True))
    native = sorted(
        p.relative_to(tree).as_posix()
        for p in tree.rglob("*.mpy")
        if deploy.MpyFormat.of_file(p).arch != 0
    )
    assert native  # the viper modules
    files = deploy.plan(tree, board)
    sent_as_source = sorted(rel[:-3] + ".mpy" for src, rel in files if not src.is_relative_to(tree))
    assert sent_as_source == (native if as_source else [])
    for src, _ in files:
        if src.suffix == ".mpy":
            assert board.loads(deploy.MpyFormat.of_file(src)), src


def test_bytecode_of_another_major_version_is_refused_before_anything_is_copied(unix_tree):
    with pytest.raises(deploy.DeployError, match="rebuild the tree with the mpy-cross"):
        deploy.plan(unix_tree, deploy.MpyFormat(5, 0, 2))
    with pytest.raises(deploy.DeployError, match="loads no .mpy"):
        deploy.MpyFormat.of_board(-1)


def test_a_tree_from_other_sources_is_not_patched_with_this_checkout(unix_tree, tmp_path):
    tree = Path(shutil.copytree(unix_tree, tmp_path / "tree"))
    (tree / "BUILD").write_text("board=unix\nproduction=True\nkey=0000000000000000\n")
    with pytest.raises(deploy.DeployError, match="not the tree's: rebuild it"):
        deploy.plan(tree, deploy.MpyFormat(6, 2, 2))


def test_the_whole_tree_goes_in_one_mpremote_session(unix_tree, tmp_path):
    staged = deploy.stage(deploy.plan(unix_tree, board_format()), tmp_path / "staged")
    cmd = deploy.copy_command(staged, "/dev/ttyACM0")
    assert cmd[:6] == [*deploy.MPREMOTE, "connect", "/dev/ttyACM0", "cp"]
    assert cmd[6] == "-r" and cmd[-3:] == [":", "+", "reset"]
    assert sorted(cmd[7:-3]) == sorted(p.name for p in staged.iterdir())
