"""`qos qrng ...` end to end through the real `qos` argument parser."""

import json

import numpy as np

from host.cli.qos import main


def test_sample_from_os(capsys):
    assert main(["qrng", "sample", "--bytes", "40"]) == 0
    out = capsys.readouterr().out.strip()
    assert len(bytes.fromhex(out)) == 40


def test_sample_raw_and_conditioned_from_a_file(tmp_path, capsys):
    data = np.random.default_rng(2).integers(0, 256, 10_000, dtype=np.uint8).tobytes()
    src = tmp_path / "in.bin"
    src.write_bytes(data)
    out = tmp_path / "out.bin"
    assert (
        main(
            [
                "qrng",
                "sample",
                "--source",
                f"file:{src}",
                "--bytes",
                "64",
                "--raw",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert out.read_bytes() == data[1024 : 1024 + 64]
    assert main(["qrng", "sample", "--source", f"file:{src}", "--bytes", "64"]) == 0
    assert len(bytes.fromhex(capsys.readouterr().out.strip())) == 64


def test_health_pass_and_fail(tmp_path, capsys):
    good = tmp_path / "good.bin"
    good.write_bytes(np.random.default_rng(4).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    assert main(["qrng", "health", "--source", f"file:{good}"]) == 0
    assert "PASS: 4096 samples" in capsys.readouterr().out
    bad = tmp_path / "bad.bin"
    bad.write_bytes(bytes(range(256)) * 4 + b"\x00" * 4000)
    assert main(["qrng", "health", "--source", f"file:{bad}"]) == 1
    assert "repetition count test" in capsys.readouterr().out


def test_bad_arguments_get_clear_errors(tmp_path, capsys):
    assert main(["qrng", "sample", "--bytes", "0"]) == 2  # bad input
    assert main(["qrng", "sample", "--source", "nope"]) == 1
    assert main(["qrng", "health", "--samples", "10"]) == 2
    assert main(["qrng", "health", "--source", "quantis"]) == 1  # none attached here
    assert main(["qrng", "assess", str(tmp_path / "missing.bin")]) == 2
    const = tmp_path / "const.bin"
    const.write_bytes(bytes(3000))
    assert main(["qrng", "assess", str(const)]) == 1
    err = capsys.readouterr().err
    assert "unknown source" in err and "single symbol" in err and "cannot read" in err
    assert "quantis" in err


def test_assess_json_and_plot(tmp_path, capsys):
    data = tmp_path / "bits.bin"
    data.write_bytes(np.random.default_rng(8).integers(0, 2, 60_000, dtype=np.uint8).tobytes())
    png = tmp_path / "plot.png"
    assert main(["qrng", "assess", str(data), "--bits", "1", "--json", "--plot", str(png)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["samples"] == 60_000 and report["bits_per_sample"] == 1
    assert len(report["estimates"]) == 10
    assert 0.5 < report["min_entropy"] <= 1.0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["qrng", "assess", str(data)]) == 0
    assert "Assessed min-entropy" in capsys.readouterr().out
