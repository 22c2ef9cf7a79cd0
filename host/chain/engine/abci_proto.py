"""The CometBFT v0.38 ABCI++ protobuf messages, compiled from CometBFT's own .proto files.

cosmpy ships compiled v0.38 messages, but it pins protobuf < 6 and an old PyNaCl, which conflicts
with the rest of this project; so we compile the .proto files that `go install cometbft@v0.38.x`
leaves in the Go module cache, with grpcio-tools' bundled protoc, into a descriptor set (cached),
and build the message classes from it at run time. No generated Python is checked in.
"""

from __future__ import annotations

import functools
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

COMETBFT_MODULE = "github.com/cometbft/cometbft"
COMETBFT_VERSION = "v0.38.19"
GOGOPROTO_MODULE = "github.com/cosmos/gogoproto"
PROTO_FILES = ("tendermint/abci/types.proto", "tendermint/types/types.proto")


class ProtoUnavailable(RuntimeError):
    """The CometBFT .proto files are not on this machine (CometBFT was not built with Go here)."""


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


def proto_roots() -> tuple[Path, Path]:
    """(cometbft proto dir, gogoproto module dir); $QOS_COMETBFT_PROTO overrides the first."""
    base = _gomodcache()
    override = os.environ.get("QOS_COMETBFT_PROTO")
    exact = base / f"{COMETBFT_MODULE}@{COMETBFT_VERSION}"
    comet = Path(override) if override else (exact if exact.is_dir() else None)
    if comet is None:
        found = _newest(base, COMETBFT_MODULE, "v0.38.")
        comet = found
    if comet is not None and (comet / "proto").is_dir():
        comet = comet / "proto"
    gogo = _newest(base, GOGOPROTO_MODULE, "v1.")
    if comet is None or not (comet / PROTO_FILES[0]).is_file() or gogo is None:
        raise ProtoUnavailable(
            f"CometBFT v0.38 .proto files not found under {base}; install CometBFT with "
            f"`go install {COMETBFT_MODULE}/cmd/cometbft@{COMETBFT_VERSION}` (make setup does)"
        )
    return comet, gogo


def _cache_path(comet: Path) -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "qos"
    return root / f"cometbft-{comet.parent.name.split('@')[-1]}.pb"


def _compile(comet: Path, gogo: Path) -> bytes:
    from importlib.resources import files

    from grpc_tools import protoc

    well_known = str(files("grpc_tools") / "_proto")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "set.pb"
        args = ["protoc", f"-I{comet}", f"-I{gogo}", f"-I{well_known}"]
        args += [f"--descriptor_set_out={out}", "--include_imports", *PROTO_FILES]
        if protoc.main(args) != 0 or not out.exists():
            raise ProtoUnavailable(f"protoc failed on the CometBFT .proto files in {comet}")
        return out.read_bytes()


def descriptor_set_bytes() -> bytes:
    comet, gogo = proto_roots()
    cache = _cache_path(comet)
    if cache.is_file():
        return cache.read_bytes()
    data = _compile(comet, gogo)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(cache)
    except OSError:
        pass  # a read-only home only costs a recompile next time
    return data


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
        return Messages(descriptor_set_bytes())
    except ImportError as exc:  # the cometbft extra is not installed
        raise ProtoUnavailable(
            f"the CometBFT engine needs protobuf and grpcio-tools ({exc}): "
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
