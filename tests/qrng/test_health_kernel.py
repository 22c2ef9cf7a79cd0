"""The health tests' viper scan (firmware/rng/health.py) on the target runner.run() picks: the unix
port, or with QOS_MICROPYTHON=qemu / qemu-m0 a QEMU lab board's Cortex-M55 / Cortex-M0 (the
RP2040's ARMv6-M code). The scan is machine code compiled per core: it must give its known answers
at import (else the plain loop serves), and it must agree with the plain loop."""

from host.devtools.runner import run

STREAMS = {
    "stuck": [3] * 40,
    "alternating": [0, 1] * 600,
    "ramp": list(range(256)) * 3,
    "late_run": list(range(200)) + [77] * 10,
}


def test_the_scan_passes_its_known_answers_and_agrees_with_the_plain_loop():
    code = f"""
import rng.health as h
from binascii import unhexlify
print(h._scan is not None)
for name, data in {[(name, bytes(stream).hex()) for name, stream in STREAMS.items()]!r}:
    data = unhexlify(data)
    outcomes = []
    for pieces in ([data], [memoryview(data)], [data[i:i + 7] for i in range(0, len(data), 7)]):
        t = h.HealthTests(name, 4.0)
        try:
            for piece in pieces:
                t.feed(piece)
            outcomes.append("pass")
        except h.HealthTestFailure as e:
            outcomes.append(str(e))
    print(name, outcomes[0] == outcomes[1] == outcomes[2], outcomes[0] != "pass")
"""
    lines = run(code).split("\n")
    assert lines[0] == "True", "the viper scan must be in use (its known answers passed)"
    assert lines[1 : 1 + len(STREAMS)] == [
        "stuck True True", "alternating True True", "ramp True False", "late_run True True"
    ]


def test_a_health_kernel_giving_a_wrong_answer_is_caught_by_its_known_answers():
    """A scan off in any word of its state, or one that never fails, is refused."""
    code = """
import rng.health as h
real = h._scan
print(h._scan_gives_known_answers())
for part in range(6):
    def wrong(buf, n, st, *rest):
        result = real(buf, n, st, *rest)
        st[part] ^= 1
        return result
    h._scan = wrong
    print(h._scan_gives_known_answers())
h._scan = lambda buf, n, st, *rest: 0
print(h._scan_gives_known_answers())
"""
    assert run(code).split() == ["True"] + ["False"] * 7
