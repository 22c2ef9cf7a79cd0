"""firmware/rng under the real MicroPython (192 KB heap): cutoffs, health tests, collect()."""

import pytest

from host.devtools.micropython import run
from qrng.health import HealthTestFailure, HealthTests, apt_cutoff, rct_cutoff

GRID = [(h, w) for h in (0.5, 1.0, 2.0, 3.5, 6.0, 7.0, 8.0) for w in (512, 1024)]


def test_device_computes_the_same_cutoffs_as_the_host():
    code = f"""
from rng.health import rct_cutoff, apt_cutoff
for h, w in {GRID!r}:
    for a in (20, 30, 40):
        print(h, w, a, rct_cutoff(h, a), apt_cutoff(h, w, a))
"""
    rows = [line.split() for line in run(code).split("\n") if line]
    assert len(rows) == len(GRID) * 3
    for h, w, a, rct, apt in rows:
        assert int(rct) == rct_cutoff(float(h), int(a))
        assert int(apt) == apt_cutoff(float(h), int(w), int(a))
    published = run(
        "from rng.health import rct_cutoff as r, apt_cutoff as a\n"
        "print(r(1,20), a(1,1024,20), r(8,20), a(8,512,20), r(0.5,20), a(0.5,512,20))"
    )
    assert published.split() == ["21", "589", "4", "13", "41", "410"]


STREAMS = {
    "stuck": [3] * 40,
    "alternating": [0, 1] * 2000,
    "ramp": list(range(256)) * 8,
    "biased": ([9, 1, 2, 3] * 128 + list(range(4, 200))) * 3,
    "late_run": list(range(200)) + [77] * 10,
}


@pytest.mark.parametrize("h", [1.0, 4.0, 7.0])
def test_device_health_tests_agree_with_the_host(h):
    # bytes go through the viper kernel, a memoryview through the plain loop, and bytes in
    # pieces of 7 check that the kernel carries its state across calls
    code = f"""
import sys, gc
from binascii import unhexlify
from rng.health import HealthTests, HealthTestFailure

def outcome(name, pieces):
    t = HealthTests(name, {h})
    try:
        for p in pieces:
            t.feed(p)
        return "pass"
    except HealthTestFailure as e:
        return "fail " + str(e).split(": ")[1].split(" failed")[0].replace(" ", "_")

for line in sys.stdin:
    name, hexdata = line.split()
    data = unhexlify(hexdata)
    fast = outcome(name, [data])
    plain = outcome(name, [memoryview(data)])
    split = outcome(name, (data[i : i + 7] for i in range(0, len(data), 7)))
    print(name, fast if fast == plain == split else "MISMATCH %s/%s/%s" % (fast, plain, split))
    gc.collect()
"""
    stdin = "\n".join(f"{name} {bytes(stream).hex()}" for name, stream in STREAMS.items())
    device = dict(
        line.split(" ", 1) for line in run(code, stdin=stdin.encode()).split("\n") if line
    )
    for name, stream in STREAMS.items():
        t = HealthTests(name, h)
        try:
            t.feed(bytes(stream))
            host = "pass"
        except HealthTestFailure as e:
            host = "fail " + str(e).split(": ")[1].split(" failed")[0].replace(" ", "_")
        assert device[name] == host, name


COLLECT_PRELUDE = """
import rng, hashlib
def attempt(label, fn):
    try:
        fn()
        print(label, "ok")
    except rng.EntropyError as e:
        print(label, "EntropyError", e)
    except Exception as e:
        print(label, type(e).__name__, e)

def counter_source(tag, patch=None):
    # healthy-looking deterministic samples; patch(call, data) may alter the call-th read
    state = [0, 0]
    def read(n):
        out = b""
        while len(out) < n:
            state[0] += 1
            out += hashlib.sha256(tag + str(state[0]).encode()).digest()
        out = out[:n]
        if patch is not None:
            out = patch(state[1], out)
        state[1] += 1
        return out
    return read
"""


def run_collect(script: str) -> dict[str, str]:
    out = run(COLLECT_PRELUDE + script)
    return dict(line.split(" ", 1) for line in out.split("\n") if line)


def test_collect_mixes_every_input_and_checks_its_arguments():
    lines = run_collect("""
a = rng.collect(32, b"host")
b = rng.collect(32, b"host")
print("lengths", len(a), len(b), len(rng.collect(100)), a != b)

def fresh(t, s):
    rng._state.clear()  # each run starts as after a reboot
    rng.override_source("trng", counter_source(t))
    rng.override_source("second", counter_source(s))

fresh(b"t", b"s"); x1 = rng.collect(32, b"host-1")
fresh(b"t", b"s"); x2 = rng.collect(32, b"host-1")
fresh(b"t", b"s"); x3 = rng.collect(32, b"host-2")
fresh(b"T", b"s"); x4 = rng.collect(32, b"host-1")
fresh(b"t", b"S"); x5 = rng.collect(32, b"host-1")
print("deterministic", x1 == x2, x1 != x3, x1 != x4, x1 != x5)
attempt("bad-n", lambda: rng.collect(0))
attempt("bad-n2", lambda: rng.collect(5000))
attempt("bad-extra", lambda: rng.collect(32, "text"))
attempt("bad-name", lambda: rng.override_source("nope", lambda n: b""))
print("failure", rng.failure())
""")
    assert lines["lengths"] == "32 32 100 True"
    assert lines["deterministic"] == "True True True True"
    assert lines["bad-n"].startswith("ValueError")
    assert lines["bad-n2"].startswith("ValueError")
    assert lines["bad-extra"].startswith("TypeError")
    assert lines["bad-name"].startswith("ValueError")
    assert lines["failure"] == "None"


# Each failure in a fresh interpreter (a fresh boot): the first call names the test, and every
# later call refuses although the source is healthy again.
FAILURES = {
    "stuck-trng": ('"trng", lambda n: bytes(n)', "entropy source trng: repetition count test"),
    "biased-trng": (
        '"trng", lambda n: bytes([i % 3 for i in range(n)])',
        "entropy source trng: adaptive proportion test",
    ),
    "stuck-second": ('"second", lambda n: b"\\xaa" * n', "entropy source second: repetition"),
    "short-second": ('"second", lambda n: b"short"', "entropy source 'second' returned a short"),
    "unreadable": ('"trng", lambda n: 1 // 0', "entropy source 'trng' could not be read"),
}


@pytest.mark.parametrize("case", sorted(FAILURES))
def test_a_failure_latches_until_reboot(case):
    override, reason = FAILURES[case]
    source = override.split(",")[0].strip('"')
    lines = run_collect(f"""
rng.override_source({override})
attempt("first", lambda: rng.collect(32))
rng.override_source("{source}", None)
for i in range(10):
    attempt("later-%d" % i, lambda: rng.collect(32))
print("failure", rng.failure())
""")
    assert lines["first"].startswith("EntropyError " + reason), lines["first"]
    assert lines["first"].endswith("(latched until reboot)")
    for i in range(10):
        assert lines[f"later-{i}"] == lines["first"], i
    assert lines["failure"].startswith(reason)


def test_running_out_of_heap_while_reading_is_not_a_source_failure():
    """A MemoryError while a source is read is the device's heap, not the source: that collect
    fails and produces nothing, the next one works. Latching it refused every setup until
    reboot on a stock board whose heap was short once (a source that cannot be read still
    latches: the "unreadable" case above)."""
    lines = run_collect("""
def no_heap(n):
    raise MemoryError("memory allocation failed")
rng.override_source("trng", no_heap)
attempt("first", lambda: rng.collect(32))
rng.override_source("trng", None)
attempt("second", lambda: rng.collect(32))
print("failure", rng.failure())
""")
    assert lines["first"].startswith("MemoryError"), lines["first"]
    assert lines["second"] == "ok"
    assert lines["failure"] == "None"


def test_a_low_entropy_source_never_passes_again_after_its_first_refusal():
    # about 2.3 bits per sample (5 values) from a source that claims 7: the tests may let a
    # call through before they catch it, never one after
    lines = run_collect("""
state = [12345]
def five_values(n):
    out = bytearray(n)
    for i in range(n):
        state[0] = (state[0] * 1103515245 + 12345) & 0x7FFFFFFF
        out[i] = (state[0] >> 16) % 5
    return bytes(out)
rng.override_source("trng", five_values)
for i in range(20):
    attempt("call-%02d" % i, lambda: rng.collect(32))
""")
    outcomes = [lines[f"call-{i:02d}"] for i in range(20)]
    first_refusal = next(i for i, o in enumerate(outcomes) if o != "ok")
    assert all(o.startswith("EntropyError") for o in outcomes[first_refusal:])


def test_health_tests_continue_across_collect_calls():
    # the trng's last read of one call ends with 4 equal samples and the first read of the next
    # call starts with 4 more: 8 >= the RCT cutoff for 7 bits (6), though each call alone has 4
    lines = run_collect("""
from rng.health import rct_cutoff
def split_run(call, data):
    if call == 3:
        return data[:-4] + b"\\x55" * 4
    if call == 4:
        return b"\\x55" * 4 + data[4:]
    return data
rng.override_source("trng", counter_source(b"t", split_run))
attempt("first", lambda: rng.collect(32))
attempt("second", lambda: rng.collect(32))
print("cutoff", rct_cutoff(7.0))
""")
    assert lines["cutoff"] == "6"
    assert lines["first"] == "ok"
    assert lines["second"].startswith("EntropyError entropy source trng: repetition count test")


def test_the_latch_and_test_state_outlive_the_unloaded_pipeline():
    # apps.random_bytes drops the whole rng package after each call; what must persist is kept
    # in apps.RNG_STATE
    lines = run_collect("""
import sys, apps
from apps import random_bytes
random_bytes(32)
print("loaded", sorted(m for m in sys.modules if m.startswith("rng")))
print("state", sorted(apps.RNG_STATE["tests"]))
import rng
rng.override_source("trng", lambda n: bytes(n))
attempt("stuck", lambda: random_bytes(32))
rng.override_source("trng", None)
attempt("after", lambda: random_bytes(32))
print("unloaded", sorted(m for m in sys.modules if m.startswith("rng")))
print("failure", apps.RNG_STATE["failure"])
""")
    assert lines["loaded"] == "[]"
    assert lines["state"] == "['second', 'trng']"
    assert lines["stuck"].startswith("EntropyError")
    assert lines["after"] == lines["stuck"]
    assert lines["unloaded"] == "[]"
    assert lines["failure"].startswith("entropy source trng: repetition count test")


def test_device_rct_cutoffs_match_exact_arithmetic_over_the_claim_grid():
    from tests.qrng.test_qrng_health import CLAIM_GRID, _exact_rct_cutoff

    code = """
from rng.health import rct_cutoff
for c in range(1, 801):
    for a in range(20, 41):
        print(rct_cutoff(c / 100, a))
"""
    device = [int(x) for x in run(code).split()]
    assert device == [_exact_rct_cutoff(h, a) for h, a in CLAIM_GRID]


def test_override_is_refused_in_a_production_build(tmp_path):
    # a production image freezes a buildflags module with DEBUG = False
    (tmp_path / "buildflags.py").write_text("DEBUG = False\n")
    code = f"""
import sys
sys.path.insert(0, {str(tmp_path)!r})
import rng
try:
    rng.override_source("trng", lambda n: bytes(n))
    print("overridden")
except rng.EntropyError as e:
    print("refused:", e)
print(len(rng.collect(32)))
"""
    out = run(code).split("\n")
    assert out[0] == "refused: override_source is not available in production builds"
    assert out[1] == "32"


def test_host_health_failure_type_is_exported():
    assert issubclass(HealthTestFailure, Exception)
    assert HealthTests("x", 8.0).rct_c == rct_cutoff(8.0)


def test_board_jitter_source_code_path_runs_on_the_unix_port():
    # entropy is a board matter (assess a dump there); here: it reads, and the claim is sane
    out = run(
        "from rng.devices import _timer_jitter, device_sources\n"
        "d = _timer_jitter(600)\n"
        "print(len(d), type(d).__name__)\n"
        "print([(s.name, s.bits, s.h) for s in device_sources()])"
    ).split("\n")
    assert out[0] == "600 bytes"
    assert out[1] == "[('trng', 8, 7.0), ('second', 8, 7.0)]"


@pytest.mark.parametrize("chip", ["RP2040", "RP2350"])
def test_pico_sources_say_they_are_unmeasured(chip, monkeypatch):
    # no dump from either chip has been assessed (docs/entropy.md): what `qos qrng` shows of a
    # source must not read like a measured TRNG, and the claims stay low
    import importlib.util
    import types

    from host.devtools.micropython import FIRMWARE_DIR

    spec = importlib.util.spec_from_file_location("pico_devices", FIRMWARE_DIR / "rng/devices.py")
    assert spec is not None and spec.loader is not None
    devices = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(devices)
    machine = f"Raspberry Pi Pico with {chip}"
    monkeypatch.setattr(devices, "sys", types.SimpleNamespace(platform="rp2"))
    monkeypatch.setattr(devices, "os", types.SimpleNamespace(
        uname=lambda: types.SimpleNamespace(machine=machine), urandom=bytes))
    sources = devices.device_sources()
    assert [s.name for s in sources] == ["trng", "second"]
    for source in sources:
        assert source.what.startswith(chip) and source.what.endswith("(unmeasured)")
        assert source.h <= 1.0
