"""Device round trips over the emulator's UDP port and its pty, and over the QEMU Cortex-M board's
serial port: ping, get_address, sign_tx.

`python -m bench signer`. One emulator (debug build, the known seed loaded) serves both links; the
QEMU board (its debug image, built from the pinned sources) runs the same firmware frozen, as
Thumb-2 code emulated by QEMU: its row says how the firmware behaves on a 32-bit Cortex-M, not
how fast a real board is. It is skipped, saying why, without the ARM toolchain or the sources.
sign_tx is timed from sending the request to holding a verified signature, with the confirm
presses made through the debug link as soon as the device shows the tx (so the figure is the
device's work plus the debug-link round trips a scripted user needs, not a human's reaction).

References measured in the same run:
- the same framed request/reply through a Python UDP echo peer on loopback (the transport floor);
- signing the same tx on the host with PyNaCl (what the device's ed25519 is compared to).
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable, Iterator

from host.bridge import framing
from host.bridge.client import Client, Link
from host.bridge.debuglink import DebugLink
from host.bridge.exceptions import DeviceError, NoReply
from host.bridge.transport import open_transport
from host.core import keys
from host.core import tx as txlib
from host.devtools.loopback import LoopbackPeer
from host.devtools.ports import free_port_pair

MNEMONIC = "legal winner thank year wave sausage worth useful legal winner thank yellow"
PIN = "1234"
BUDGET_S = 6.0  # per measurement: stop early once the budget is spent (at least MIN_RUNS)
MIN_RUNS = 20


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def measure(action: Callable[[], object], runs: int) -> list[float]:
    action()  # warm-up: imports on the device, key cache, socket paths
    samples = []
    started = time.monotonic()
    for done in range(runs):
        t0 = time.perf_counter()
        action()
        samples.append((time.perf_counter() - t0) * 1000)
        if done + 1 >= MIN_RUNS and time.monotonic() - started > BUDGET_S:
            break
    return samples


def echo_peer() -> LoopbackPeer:
    """A loopback UDP peer that answers every frame with the same payload (no device work)."""
    return LoopbackPeer(lambda payload: [framing.encode_frame(payload)])


def echo_round_trip(link: Link) -> None:
    link.transport.write(framing.encode_frame(b"\xa3bidx\x01fmethoddpingfparams\xa0"))
    link.read_frame(5)


def sign_tx_confirmed(
    client: Client, debug: DebugLink, tx_bytes: bytes, account: int = 0, index: int = 0
) -> bytes:
    """sign_tx with a scripted user who confirms each page once, as soon as it is drawn."""
    params = {"account": account, "index": index, "tx": tx_bytes}
    request_id = client.send("sign_tx", params)
    answered = -1
    while True:
        try:
            result = client.link.receive(request_id, 0.005)
            break
        except NoReply:
            pass
        screen = debug.screen(fb=False)
        if str(screen.get("footer", "")).startswith("cancel") and screen["seq"] != answered:
            debug.press("confirm", screen["seq"])
            answered = screen["seq"]
    if not keys.verify(result["pubkey"], txlib.Tx.decode(tx_bytes).sign_bytes(), result["sig"]):
        raise RuntimeError("the device's signature does not verify")
    return result["sig"]


@contextlib.contextmanager
def _log_on_failure(emulator) -> Iterator[None]:
    try:
        yield
    except Exception:
        state = "running" if emulator.running else "DEAD"
        print(f"emulator {state}; log:\n{emulator.log()[-3000:]}")
        raise


def measure_unlock(client: Client) -> list[float]:
    samples = []
    for _ in range(5):
        client.lock()
        t0 = time.perf_counter()
        client.unlock(PIN)
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def measure_cold_sign(client: Client, debug: DebugLink, tx_bytes: bytes) -> list[float]:
    samples = []
    for run in range(5):
        client.lock()
        client.unlock(PIN)  # forgets derived keys (the device then pre-derives account 0/0 only)
        t0 = time.perf_counter()
        sign_tx_confirmed(client, debug, tx_bytes, account=1 + run, index=run)
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def bench_link(name: str, client: Client, debug: DebugLink, tx_bytes: bytes) -> dict:
    figures = {
        "ping": measure(lambda: client.ping(b"x" * 16), 300),
        "get_address": measure(lambda: client.get_address(0, 1), 200),
    }
    try:
        figures["sign_tx"] = measure(lambda: sign_tx_confirmed(client, debug, tx_bytes), 60)
    except DeviceError as exc:  # report what works rather than nothing
        print(f"  {name:5} sign_tx      FAILED on the device: {exc}")
    for op, samples in figures.items():
        print(
            f"  {name:5} {op:12} n={len(samples):3}  p50 {statistics.median(samples):7.2f} ms"
            f"  p99 {percentile(samples, 0.99):7.2f} ms"
        )
    return figures


def main() -> None:
    from host.devtools.emulator import Emulator

    account = keys.Account.from_mnemonic(MNEMONIC)
    tx = txlib.Tx("qos-test", 1, 2_000, [txlib.transfer(bytes(range(20)), 123_400)], "bench")
    tx_bytes = tx.encode()

    echo = echo_peer()
    echo_link = Link(open_transport(echo.path))
    floor = measure(lambda: echo_round_trip(echo_link), 500)
    echo_link.close()
    echo.close()
    host_sign = measure(lambda: account.sign(tx.sign_bytes()), 500)
    print(f"  ref   udp echo (Python peer)  p50 {statistics.median(floor):7.3f} ms")
    print(f"  ref   host sign_tx (PyNaCl)   p50 {statistics.median(host_sign):7.3f} ms")

    with Emulator(port=free_port_pair(), pty=True) as emulator, _log_on_failure(emulator):
        with DebugLink.open(emulator.debug_path) as debug:
            debug.load(MNEMONIC, PIN)
            results = {}
            with Client.open(emulator.wire_path) as udp:
                results["udp"] = bench_link("udp", udp, debug, tx_bytes)
            with Client.open(f"serial:{emulator.pty_path}") as pty:
                results["pty"] = bench_link("pty", pty, debug, tx_bytes)
            state = debug.state()
            with Client.open(emulator.wire_path) as udp:
                unlock = measure_unlock(udp)
                cold = measure_cold_sign(udp, debug, tx_bytes)
    print(
        f"  udp   lock+unlock  n={len(unlock):3}  p50 {statistics.median(unlock):7.2f} ms"
        "  (PIN check + PBKDF2-HMAC-SHA512 seed derivation on the device)"
    )
    print(
        f"  udp   cold sign_tx n={len(cold):3}  p50 {statistics.median(cold):7.2f} ms"
        "  (a key not derived yet: BIP32 derivation + signing)"
    )
    floor_p50 = statistics.median(floor)
    sign_p50 = statistics.median(host_sign)
    for name, figures in results.items():
        if "sign_tx" not in figures:
            continue
        ping = statistics.median(figures["ping"])
        sign = statistics.median(figures["sign_tx"])
        print(
            f"  {name}: ping p50 = {ping / floor_p50:.1f}x the UDP echo floor; "
            f"sign_tx p50 = {sign / sign_p50:.0f}x host signing; target sign_tx <= 50 ms p50: "
            f"{'met' if sign <= 50 else 'NOT met'}"
        )
    qemu_figures = bench_qemu_board(tx_bytes)
    if qemu_figures is not None and "sign_tx" in qemu_figures and "sign_tx" in results["udp"]:
        ratio = statistics.median(qemu_figures["sign_tx"]) / statistics.median(
            results["udp"]["sign_tx"]
        )
        print(f"  qemu: sign_tx p50 = {ratio:.1f}x the unix emulator's over UDP")
    free, used = state.get("mem_free"), state.get("mem_alloc")
    print(f"  device heap after the run: {free} B free, {used} B used")


def bench_qemu_board(tx_bytes: bytes) -> dict[str, list[float]] | None:
    import tempfile
    from pathlib import Path

    from host.devtools import qemu
    from host.devtools.shared import shared_path

    missing = qemu.missing_tools()
    if missing or shared_path("toolchains") is None:
        print(f"  qemu  skipped: needs {', '.join(missing) or 'the pinned sources'}")
        return None
    image = qemu.build_qemu_image(production=False)
    with tempfile.TemporaryDirectory(prefix="qos-bench-qemu-") as folder:
        board = qemu.QemuBoard(image, Path(folder)).start()
        try:
            assert board.debug_path is not None
            with DebugLink.open(board.debug_path) as debug, Client.open(board.wire_path) as client:
                debug.load(MNEMONIC, PIN)
                client.timeout = 60.0  # an emulated CPU: first imports take seconds
                return bench_link("qemu", client, debug, tx_bytes)
        finally:
            board.close()


if __name__ == "__main__":
    main()
