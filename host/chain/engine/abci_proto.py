"""The CometBFT v0.38 ABCI++ protobuf messages, shipped compiled with the package.

cometbft-v0.38.19.pb beside this file is the FileDescriptorSet protoc makes from CometBFT's own
.proto files (tendermint/abci/types.proto, tendermint/types/types.proto and what they import);
the message classes are built from it at run time, so running a node needs neither Go nor its
module cache. A descriptor set rather than generated _pb2.py modules: generated code is tied to
the protobuf runtime that made it (protobuf 5+ refuses older gencode and the reverse), while a
descriptor set loads in every protobuf from 4.25 to 7, the range this project supports. (cosmpy
ships compiled v0.38 messages, but pins protobuf < 6 and an old PyNaCl.)

Regenerate it after a CometBFT upgrade (needs CometBFT's Go module, which holds the .proto files
and which `make setup` downloads to build cometbft, and grpcio-tools, whose protoc compiles them):

    python -m host.chain.engine.abci_proto

tests/chain/test_abci_proto.py recompiles the .proto files where they are present and checks the
shipped set is what they give.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

COMETBFT_MODULE = "github.com/cometbft/cometbft"
COMETBFT_VERSION = "v0.38.19"
GOGOPROTO_MODULE = "github.com/cosmos/gogoproto"
PROTO_FILES = ("tendermint/abci/types.proto", "tendermint/types/types.proto")
SHIPPED = f"cometbft-{COMETBFT_VERSION}.pb"


class ProtoUnavailable(RuntimeError):
    """The CometBFT messages cannot be built here (protobuf missing, or no .proto to compile)."""


def shipped_descriptor_set() -> bytes:
    """The compiled descriptor set that ships with the package."""
    from importlib.resources import files

    return (files(__package__) / SHIPPED).read_bytes()


# ---- regenerating the shipped set from the .proto files (developers, the check in tests) -------


def _gomodcache() -> Path:
    env = os.environ.get("GOMODCACHE")
    if env:
        return Path(env)
    try:
        out = subprocess.run(
            ["go", "env", "GOMODCACHE"], capture_output=True, text=True, timeout=30, check=True
        ).stdout.strip()
        if out:
            return Path(out)
    except (OSError, subprocess.SubprocessError):
        pass
    return Path.home() / "go" / "pkg" / "mod"


def _newest(base: Path, module: str, prefix: str) -> Path | None:
    parent = base / Path(module).parent
    name = Path(module).name
    candidates = sorted(parent.glob(f"{name}@{prefix}*")) if parent.is_dir() else []
    return candidates[-1] if candidates else None


def cometbft_module_dir() -> Path:
    """Where the Go module cache keeps CometBFT's source (make setup builds from it)."""
    return _gomodcache() / f"{COMETBFT_MODULE}@{COMETBFT_VERSION}"


def proto_roots() -> tuple[Path, Path]:
    """(cometbft proto dir, gogoproto module dir) in the Go module cache."""
    base = _gomodcache()
    comet = cometbft_module_dir() / "proto"
    gogo = _newest(base, GOGOPROTO_MODULE, "v1.")
    if not (comet / PROTO_FILES[0]).is_file() or gogo is None:
        raise ProtoUnavailable(
            f"CometBFT {COMETBFT_VERSION} .proto files not found under {base}; they come with "
            f"its Go module, which `make setup` downloads to build cometbft"
        )
    return comet, gogo


def compile_descriptor_set() -> bytes:
    """protoc (grpcio-tools' bundled one) over the .proto files in the Go module cache."""
    from importlib.resources import files

    comet, gogo = proto_roots()
    try:
        from grpc_tools import protoc
    except ImportError as exc:
        raise ProtoUnavailable(f"compiling the .proto files needs grpcio-tools ({exc})") from exc
    well_known = str(files("grpc_tools") / "_proto")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "set.pb"
        args = ["protoc", f"-I{comet}", f"-I{gogo}", f"-I{well_known}"]
        args += [f"--descriptor_set_out={out}", "--include_imports", *PROTO_FILES]
        if protoc.main(args) != 0 or not out.exists():
            raise ProtoUnavailable(f"protoc failed on the CometBFT .proto files in {comet}")
        return out.read_bytes()


def regenerate() -> Path:
    """Write the shipped descriptor set anew from the .proto files."""
    target = Path(__file__).with_name(SHIPPED)
    target.write_bytes(compile_descriptor_set())
    return target


class Messages:
    """Attribute access to message classes by full name: msgs.abci.RequestInfo, msgs.get(...)."""

    def __init__(self, data: bytes) -> None:
        from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

        fds = descriptor_pb2.FileDescriptorSet.FromString(data)
        self.pool = descriptor_pool.DescriptorPool()
        for file_proto in fds.file:
            self.pool.Add(file_proto)
        self._factory = message_factory
        self.abci = _Namespace(self, "tendermint.abci")
        self.types = _Namespace(self, "tendermint.types")
        self.crypto = _Namespace(self, "tendermint.crypto")

    @functools.cache  # noqa: B019 - one instance per process
    def get(self, full_name: str) -> Any:
        return self._factory.GetMessageClass(self.pool.FindMessageTypeByName(full_name))

    def enum_value(self, enum_full_name: str, name: str) -> int:
        return self.pool.FindEnumTypeByName(enum_full_name).values_by_name[name].number


class _Namespace:
    def __init__(self, msgs: Messages, package: str) -> None:
        self._msgs = msgs
        self._package = package

    def __getattr__(self, name: str) -> Any:
        return self._msgs.get(f"{self._package}.{name}")


@functools.cache
def messages() -> Messages:
    try:
        return Messages(shipped_descriptor_set())
    except ImportError as exc:  # the cometbft extra is not installed
        raise ProtoUnavailable(
            f"the CometBFT engine needs protobuf ({exc}): "
            "pip install 'qos-signer[cometbft]' (make setup installs it)"
        ) from exc


# --- the length prefix: unsigned varint (CometBFT >= 0.37) ---------------------------------


def encode_uvarint(value: int) -> bytes:
    if value < 0:
        raise ValueError("uvarint of a negative number")
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def decode_uvarint(buf: bytes | bytearray | memoryview, pos: int = 0) -> tuple[int, int] | None:
    """(value, next position), or None if buf ends inside the varint. Raises on > 10 bytes."""
    value = 0
    shift = 0
    for i in range(pos, min(len(buf), pos + 10)):
        byte = buf[i]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, i + 1
        shift += 7
    if len(buf) - pos >= 10:
        raise ValueError("varint longer than 10 bytes")
    return None


# --- FinalizeBlock's results, encoded by hand ---------------------------------------------------
# Built through the message classes, a block's results cost ~6.5 us per tx, most of it one
# .add() per event and attribute. These write the same bytes protobuf's serializer does: known
# fields in number order, proto3 defaults (0, "") left out. tests/chain/test_abci_proto.py holds
# them to the message classes' serialization.

_SHORT = [bytes((n,)) for n in range(0x80)]


def _length_delimited(tag: bytes, body: bytes) -> bytes:
    size = len(body)
    return tag + (_SHORT[size] if size < 0x80 else encode_uvarint(size)) + body


def _text(tag: bytes, value: str) -> bytes:
    return _length_delimited(tag, value.encode()) if value else b""


def encode_event(kind: str, attributes: dict[Any, Any]) -> bytes:
    """tendermint.abci.Event: type (1), attributes (2: key 1, value 2, index 3 = true)."""
    body = [_text(b"\x0a", kind)]
    for key, value in attributes.items():
        pair = _text(b"\x0a", str(key)) + _text(b"\x12", str(value)) + b"\x18\x01"
        body.append(_length_delimited(b"\x12", pair))
    return b"".join(body)


def encode_exec_tx_result(code: int, log: str, codespace: str, events: list) -> bytes:
    """tendermint.abci.ExecTxResult: code (1), log (3), gas_wanted (5) and gas_used (6) = 1,
    events (7), codespace (8)."""
    body = [b"\x08" + encode_uvarint(code) if code else b"", _text(b"\x1a", log)]
    body.append(b"\x28\x01\x30\x01")
    body += [_length_delimited(b"\x3a", encode_event(event[0], event[1])) for event in events]
    body.append(_text(b"\x42", codespace))
    return b"".join(body)


def encode_finalize_block_response(events: list, tx_results: list[bytes], rest: bytes) -> bytes:
    """A tendermint.abci.Response carrying finalize_block (21): block events (1), tx_results (2,
    each from encode_exec_tx_result), then ``rest``, the serialised ResponseFinalizeBlock holding
    only the fields numbered above 2 (validator updates, app hash)."""
    inner = [_length_delimited(b"\x0a", encode_event(event[0], event[1])) for event in events]
    inner += [_length_delimited(b"\x12", result) for result in tx_results]
    inner.append(rest)
    return _length_delimited(b"\xaa\x01", b"".join(inner))


if __name__ == "__main__":
    try:
        print(f"wrote {regenerate()}")
    except ProtoUnavailable as exc:
        sys.exit(f"abci_proto: {exc}")
