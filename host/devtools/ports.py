"""Loopback ports for local networks, emulators and tests, chosen below the ephemeral range.

The kernel hands out ports of its ephemeral range as the source port of any outgoing connection.
A service that is killed and restarted on the same port (a validator in a fault test, the emulator
after kill -9) can find such a port taken in between, so fixed ports are drawn from below it.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

LOWEST = 10_000
EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def ephemeral_low() -> int:
    try:
        return int(EPHEMERAL_RANGE_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default


def free_block(
    size: int, kinds: tuple[int, ...] = (socket.SOCK_STREAM,), host: str = "127.0.0.1"
) -> int:
    """A port P with P .. P+size-1 all free on ``host`` now, for every socket kind given."""
    high = ephemeral_low() - size
    if high <= LOWEST:
        raise RuntimeError(f"no room for {size} ports below the ephemeral range")
    for _ in range(200):
        base = random.randrange(LOWEST, high)
        if all(is_free(host, port, kind) for port in range(base, base + size) for kind in kinds):
            return base
    raise RuntimeError(f"no {size} free consecutive loopback ports below the ephemeral range")


def is_free(host: str, port: int, kind: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port_pair(host: str = "127.0.0.1") -> int:
    """A UDP port P with P and P+1 both free now (for an emulator's wire and debug link)."""
    return free_block(2, (socket.SOCK_DGRAM,), host)
