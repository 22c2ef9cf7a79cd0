"""`qos emu` refuses arguments that cannot work, before it starts anything: exit 2, one line."""

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
