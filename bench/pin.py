"""What a flash dump costs an attacker per PIN length: `python -m bench pin`.

A device-only PIN is stretched with PBKDF2-HMAC-SHA256 for as many iterations as the device does
in about 1 s (storage/kdf.py, never below its floor of 10,000). Whoever copies the flash can test a
guess with the same PBKDF2 on their own hardware. Measured here, in one run:
- the device: the iterations the firmware's calibration picks for 1 s on the emulator (MicroPython
  unix port on this machine), and the time one PIN try then takes there;
- the attacker: hashlib's PBKDF2-HMAC-SHA256 (OpenSSL) on one core of this machine, in
  iterations per second; the reference is the fixed 10,000 iterations the vault used before
  calibration (issue 8: every 4-digit PIN in 29 s);
- a GPU: not measured here; the published hashcat figure below, scaled to the iterations.
A PIN server wallet is not in these tables: a dump alone cannot test a PIN at all.
"""

from __future__ import annotations

import hashlib

from bench.timing import best_s, load_note, run_device

REFERENCE_ITERATIONS = 10_000  # the fixed count before calibration; also the floor now
# hashcat v6.2.6-851, RTX 5090 Founders Edition, hash mode 10900 (PBKDF2-HMAC-SHA256, 999
# iterations): 11,157.2 kH/s (Chick3nman's published benchmark).
GPU_ITERATIONS_PER_S = 11_157.2e3 * 999
GPU_NAME = "one RTX 5090 (hashcat, published)"
PIN_LENGTHS = (4, 6, 8, 10)

DEVICE_CODE = r"""
from storage import kdf
calibrated = [kdf.calibrate(1000, floor=1) for _ in range(3)]
iterations = sorted(calibrated)[1]
try_us = best_us(lambda: kdf.stretch("123456", b"s" * 48, iterations), 2)
floor_us = best_us(lambda: kdf.stretch("123456", b"s" * 48, kdf.FLOOR), 3)
print(json.dumps({"calibrated": calibrated, "iterations": iterations, "try_us": try_us,
                  "floor_us": floor_us, "floor": kdf.FLOOR}))
"""


def host_iterations_per_s() -> float:
    n = 400_000
    return n / best_s(lambda: hashlib.pbkdf2_hmac("sha256", b"123456", b"s" * 48, n), 3)


def duration(seconds: float) -> str:
    for unit, size in (("years", 365 * 86400), ("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:,.1f} {unit}"
    return f"{seconds:.1f} s" if seconds >= 1 else f"{seconds * 1e3:.0f} ms"


def main() -> None:
    device = run_device(DEVICE_CODE)
    host = host_iterations_per_s()
    print(f"command: .venv/bin/python -m bench pin   ({load_note()})")
    print(
        f"device (emulator, this machine): calibration for 1 s picked {device['calibrated']} "
        f"iterations; one try at {device['iterations']:,} took {device['try_us'] / 1e6:.2f} s; "
        f"at the floor of {device['floor']:,}: {device['floor_us'] / 1e6:.3f} s"
    )
    print(f"attacker, one core here (hashlib/OpenSSL): {host / 1e6:.2f} M iterations/s")
    print(f"attacker, {GPU_NAME}: {GPU_ITERATIONS_PER_S / 1e9:.2f} G iterations/s")
    print()
    columns = [
        (f"reference: {REFERENCE_ITERATIONS:,} (before; now the floor)", REFERENCE_ITERATIONS),
        (f"emulator's 1 s: {device['iterations']:,}", device["iterations"]),
    ]
    heads = " | ".join(c for c, _ in columns)
    print(f"| every PIN of this length (one core / one GPU) | {heads} |")
    print("|---|" + "---|" * len(columns))
    print(
        "| one guess, one core | "
        + " | ".join(f"{n / host * 1e3:.2f} ms" for _, n in columns)
        + " |"
    )
    for digits in PIN_LENGTHS:
        cells = []
        for _, n in columns:
            work = 10**digits * n
            cells.append(f"{duration(work / host)} / {duration(work / GPU_ITERATIONS_PER_S)}")
        print(f"| {digits} digits | " + " | ".join(cells) + " |")
    ratio = device["iterations"] / REFERENCE_ITERATIONS
    print(f"\nper guess, the emulator's count costs an attacker {ratio:.1f}x the reference")


if __name__ == "__main__":
    main()
