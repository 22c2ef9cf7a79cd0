"""`qos emu` refuses arguments that cannot work, before it starts anything: exit 2, one line; and
stopped with SIGTERM it takes its emulator with it."""

from __future__ import annotations

import socket

from host.cli.qos import main
from host.devtools.ports import free_port_pair

WORDS = " ".join(["abandon"] * 11 + ["about"])


def test_a_taken_port_is_refused_instead_of_reporting_the_other_emulator(capsys):
    port = free_port_pair()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
        squatter.bind(("127.0.0.1", port + 1))  # the debug link's port
        assert main(["emu", "--port", str(port)]) == 2
    assert f"udp port {port + 1} is in use" in capsys.readouterr().err


def test_mnemonic_arguments_are_checked(capsys):
    port = str(free_port_pair())
    assert main(["emu", "--port", port, "--mnemonic", WORDS]) == 2  # no --pin
    assert "go together" in capsys.readouterr().err
    assert main(["emu", "--port", port, "--mnemonic", "abandon nope", "--pin", "1234"]) == 2
    assert "checksum" in capsys.readouterr().err


def test_the_narrow_screen_fits_an_80_column_terminal():
    """`qos emu --interactive` on a terminal narrower than the 128-pixel screen draws 2x2 pixels
    per character, so nothing wraps."""
    from host.devtools.emulator import QUADRANTS, render_narrow

    fb = bytearray(1024)  # MONO_VLSB: byte x of page 0 holds rows 0-7 of column x
    fb[0] = 0b01  # (0, 0): top left of the first cell
    fb[3] = 0b10  # (3, 1): bottom right of the second cell
    fb[127] = 0b11  # (127, 0) and (127, 1): the right half of the last cell
    lines = render_narrow(bytes(fb)).splitlines()
    assert len(lines) == 32 and {len(line) for line in lines} == {64}
    assert lines[0][:2] == QUADRANTS[1] + QUADRANTS[8] and lines[0][63] == "▐"
    assert set("".join(lines[1:])) == {" "}


def test_json_on_every_command_that_reports_a_result():
    """Servers (emu, relay, pin-server, device bridge) and generators (completion, qrng sample's
    bytes) aside, every leaf command takes --json."""
    import argparse

    from host.cli.qos import build_parser

    exempt = {"qos emu", "qos relay", "qos pin-server", "qos completion", "qos qrng sample"}

    def leaves(parser: argparse.ArgumentParser, path: str):
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            yield path, {o for a in parser._actions for o in a.option_strings}
        for action in subs:
            for name, sub in action.choices.items():
                yield from leaves(sub, f"{path} {name}")

    missing = [path for path, options in leaves(build_parser(), "qos")
               if "--json" not in options and path not in exempt]
    assert missing == []


def test_sigterm_stops_the_emulator_it_started(tmp_path):
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from host.devtools.ports import is_free

    port = free_port_pair()
    qos = Path(sys.executable).parent / "qos"
    log = tmp_path / "emu.log"
    with log.open("w") as out:
        emu = subprocess.Popen([qos, "emu", "--port", str(port), "--kdf-ms", "1"], stdout=out,
                               stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120  # a first build can take a while: a deadline only
        while "emulator running" not in log.read_text():
            assert emu.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        emu.send_signal(signal.SIGTERM)
        assert emu.wait(timeout=30) == 0
    finally:
        emu.kill()
    assert is_free("127.0.0.1", port, socket.SOCK_DGRAM), "the emulator outlived `qos emu`"
    assert is_free("127.0.0.1", port + 1, socket.SOCK_DGRAM)
