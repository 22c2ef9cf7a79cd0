"""Host sources through their real code paths: a serial QRNG on a pty, file replay, the Quantis
framing over a fake USB device (the layer below the one under test), dice, and the pipeline."""

import array
import os
import threading

import numpy as np
import pytest

from qrng.health import HealthTestFailure
from qrng.pipeline import EntropyError, TestedSource, host_entropy, mix
from qrng.sources import (
    QUANTIS_BULK_IN,
    DiceSource,
    FileSource,
    OsSource,
    QuantisSource,
    SerialSource,
    SourceError,
    open_source,
)


@pytest.fixture
def pty_qrng():
    """A pty whose master side streams the bytes a test puts in `feed`."""
    master, slave = os.openpty()
    path = os.ttyname(slave)
    feed = bytearray()
    stop = threading.Event()

    def pump():
        sent = 0
        while not stop.is_set() and sent < len(feed):
            sent += os.write(master, bytes(feed[sent : sent + 4096]))

    yield path, feed, pump
    stop.set()
    os.close(master)
    os.close(slave)


def test_serial_qrng_over_a_pty(pty_qrng):
    path, feed, pump = pty_qrng
    payload = np.random.default_rng(5).integers(0, 256, 6000, dtype=np.uint8).tobytes()
    feed += payload
    source = SerialSource(path, timeout=2.0)
    writer = threading.Thread(target=pump)
    writer.start()
    try:
        tested = TestedSource(source)
        got = tested.read(3000).tobytes()
        assert got == payload[1024:4024]  # the start-up samples were tested first
        assert tested.tests.samples == 4024
    finally:
        writer.join()
        source.close()


def test_serial_qrng_that_goes_quiet_times_out(pty_qrng):
    path, feed, pump = pty_qrng
    feed += bytes(range(200))
    source = SerialSource(path, timeout=0.3)  # opening flushes: the QRNG streams after it
    pump()
    with pytest.raises(SourceError, match="timed out after 200 of 500"):
        source.read(500)
    source.close()


def test_stuck_serial_qrng_is_stopped_by_the_health_tests(pty_qrng):
    path, feed, pump = pty_qrng
    feed += bytes(range(100)) + b"\x42" * 2000
    source = SerialSource(path, timeout=1.0)
    pump()
    with pytest.raises(EntropyError, match="repetition count test"):
        TestedSource(source).read(10)
    source.close()


def test_file_replay(tmp_path):
    data = np.random.default_rng(9).integers(0, 256, 5000, dtype=np.uint8).tobytes()
    path = tmp_path / "samples.bin"
    path.write_bytes(data)
    source = open_source(f"file:{path}")
    assert source.read(10) == data[:10]
    assert source.read(4990) == data[10:]
    with pytest.raises(SourceError, match="only 0 of 1 samples left"):
        source.read(1)
    source.close()
    with pytest.raises(SourceError, match="cannot open"):
        open_source(f"file:{tmp_path / 'missing.bin'}")


class FakeQuantisDevice:
    """Stands in for the pyusb device: bulk IN transfers of whatever the test queues."""

    def __init__(self, chunks):
        self.chunks = list(chunks)
        self.requests = []

    def read(self, endpoint, size, timeout=None):
        self.requests.append((endpoint, size))
        if not self.chunks:
            raise OSError("timeout")
        chunk = self.chunks.pop(0)
        return array.array("B", chunk[:size])


def test_quantis_reads_whole_packets_and_reassembles_the_stream():
    stream = bytes(np.random.default_rng(3).integers(0, 256, 2000, dtype=np.uint8))
    device = FakeQuantisDevice([stream[:512], stream[512:700], stream[700:2000]])
    source = QuantisSource(device=device)
    assert source.read(1500) == stream[:1500]
    assert all(endpoint == QUANTIS_BULK_IN for endpoint, _ in device.requests)
    assert all(size % 512 == 0 for _, size in device.requests)


def test_quantis_errors_are_clear():
    with pytest.raises(SourceError, match="USB read failed"):
        QuantisSource(device=FakeQuantisDevice([])).read(10)
    with pytest.raises(SourceError, match="no data"):
        QuantisSource(device=FakeQuantisDevice([b""])).read(10)


def test_dice():
    dice = DiceSource("1234 5616\n2")
    assert dice.entropy_bits == pytest.approx(9 * 2.584962500721156)
    assert len(dice.extract()) == 32
    assert dice.read(3) == bytes([0, 1, 2])
    for bad in ("", "1237", "12 x"):
        with pytest.raises(SourceError, match="1-6"):
            DiceSource(bad)


def test_unknown_sources_are_refused():
    for spec in ("nope", "serial:", "file:", "os:x"):
        with pytest.raises(SourceError, match="unknown source"):
            open_source(spec)


def test_conditioned_output_and_mixing():
    tested = TestedSource(OsSource())
    out = tested.conditioned(100)
    assert len(out) == 100 and tested.tests.started
    assert tested.samples_per_block == 46  # ceil(320 / 7)
    a, b = os.urandom(32), os.urandom(32)
    assert mix([a, b]) == mix([a, b])
    assert mix([a, b]) != mix([a, bytes(32)])  # every part counts
    assert mix([a + b]) != mix([a, b])  # parts are framed, not just concatenated
    with pytest.raises(EntropyError):
        mix([])
    assert len(host_entropy([OsSource()], 48)) == 48


def test_a_failed_source_stays_failed(tmp_path):
    path = tmp_path / "stuck.bin"
    path.write_bytes(bytes(range(256)) * 8 + bytes(4000))
    tested = TestedSource(FileSource(path))
    tested.read(100)
    with pytest.raises(EntropyError, match="repetition count"):
        tested.read(3000)
    with pytest.raises(EntropyError):
        tested.read(1)
    assert isinstance(tested.tests.failed, str)
    assert issubclass(EntropyError, RuntimeError) and issubclass(HealthTestFailure, RuntimeError)


@pytest.mark.parametrize("length", [1, 46, 55, 56, 64, 119, 321])
def test_batched_sha256_equals_hashlib(length):
    import hashlib

    from qrng._kernels import sha256_batch

    raw = np.random.default_rng(length).integers(0, 256, length * 70, dtype=np.uint8)
    data = raw.tobytes()
    want = b"".join(
        hashlib.sha256(data[i : i + length]).digest() for i in range(0, len(data), length)
    )
    assert sha256_batch(raw, length) == want


def test_large_conditioned_output_equals_per_block_sha256(tmp_path):
    import hashlib

    data = np.random.default_rng(21).integers(0, 256, 1024 + 46 * 100, dtype=np.uint8).tobytes()
    path = tmp_path / "s.bin"
    path.write_bytes(data)
    out = TestedSource(FileSource(path)).conditioned(3200)  # 100 blocks: the batched path
    body = data[1024:]
    assert out == b"".join(hashlib.sha256(body[i : i + 46]).digest() for i in range(0, 4600, 46))
