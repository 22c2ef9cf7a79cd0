"""The QOS signer client API: what trezorlib is to a Trezor.

    with Client.open() as device:            # $QOS_DEVICE, else the emulator on udp:127.0.0.1:21324
        device.unlock("1234")
        address = device.get_address(0, 0)
        signature = device.sign_tx(tx)        # the user confirms every page on the device

Every method sends one request (docs/protocol.md sections 5 and 6) and waits for its reply; an
error reply raises a :class:`DeviceError` subclass chosen by its code. Arguments are checked here
first, so bad input raises ``ValueError`` before anything reaches the device.

host/bridge/debuglink.py drives the debug link of the emulator and debug builds.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import secrets
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from host.bridge import framing
from host.bridge.exceptions import (
    BadDevicePath,
    BadReply,
    DeviceError,
    HostEntropyError,
    InvalidSession,
    NoReply,
    PinServerRetry,
    SetupCheckFailed,
    TransportError,
    device_error,
)
from host.bridge.transport import EMULATOR_PATH, enumerate_devices, open_transport
from host.bridge.transport.base import DeviceInfo, Transport

if TYPE_CHECKING:
    from host.core.tx import Tx

DEFAULT_TIMEOUT = 10.0
# How long to wait for replies that need the user (a confirm press) or long device work (seed
# derivation on a board takes seconds). A user who walks away gets a clear timeout, not a hang.
USER_TIMEOUT = 600.0
# After an error reply without an id, how long a reply to our own request may still arrive.
ANONYMOUS_ERROR_GRACE = 0.5
MAX_INDEX = 2**31
PIN_PATTERN = re.compile(r"[0-9]{4,50}")
SETUP_WORDS = {12: 16, 24: 32}  # words -> seed entropy bytes
# Methods the device answers without a session (docs/protocol.md, "Sessions").
SESSIONLESS = frozenset({"ping", "get_info", "acquire"})
ACQUIRING = b"acquire"  # stands for "the new session" in Link._sent_in
MAX_UNANSWERED = 256
# A frame's reports follow each other within milliseconds; a part of one this old when the next
# bytes come was cut off (the device restarted mid-reply) and would swallow the next reply.
STALE_PART_S = 2.0


# ------------------------------------------------------------------ the RPC link


class Link:
    """Requests and replies over one transport: framing, ids, matching replies to requests."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.decoder = framing.FrameDecoder()
        # Ids start at a random point: on a shared serial port, a new client must not take a late
        # reply meant for an earlier client's request with the same small id.
        self._ids = itertools.count(1 + secrets.randbelow(2**31))
        self._frames: list[bytes] = []
        # The device's session id once acquired: sent with every request that needs one, and a
        # reply that carries another session's id is not ours (a host before us on this port).
        self.session: bytes | None = None
        self._sent_in: dict[int, bytes | None] = {}  # request id -> the session it carried
        self._fed_at = 0.0  # when the decoder last got bytes

    def close(self) -> None:
        self.transport.close()

    def send(self, method: str, params: dict[str, Any]) -> int:
        """Sends a request and returns its id without waiting for the reply."""
        from host.core import cbor

        request_id = next(self._ids)
        request: dict[str, Any] = {"id": request_id, "method": method, "params": params}
        if self.session is not None and method not in SESSIONLESS:
            request["session"] = self.session
        self.transport.write(framing.encode_frame(cbor.dumps(request)))
        self._sent_in[request_id] = ACQUIRING if method == "acquire" else request.get("session")
        if len(self._sent_in) > MAX_UNANSWERED:  # requests whose answers never came
            del self._sent_in[next(iter(self._sent_in))]
        return request_id

    def receive(self, request_id: int, timeout: float) -> Any:
        """Waits for the reply to ``request_id``; returns its result or raises its error."""
        deadline = time.monotonic() + timeout
        anonymous: DeviceError | None = None
        while True:
            try:
                reply = self._next_reply(deadline)
            except NoReply:
                if anonymous is not None:
                    raise anonymous from None
                raise
            reply_id = reply.get("id")
            if reply_id == request_id and self._answers(reply, self._sent_in.get(request_id)):
                self._sent_in.pop(request_id, None)
                if "error" in reply:
                    raise device_error(reply["error"])
                return reply.get("result")
            if reply_id is None and "error" in reply and anonymous is None:
                # The device could not read some request's id. If it was ours, no reply will
                # come: wait only briefly, then report it. (It may also be about bytes another
                # host sent on a shared link, so a real reply still wins.)
                anonymous = device_error(reply["error"])
                deadline = min(deadline, time.monotonic() + ANONYMOUS_ERROR_GRACE)
            # Otherwise a late reply to an earlier request that timed out here: skip it.

    @staticmethod
    def _answers(reply: dict[str, Any], sent: bytes | None) -> bool:
        """Whether a reply with our id is the answer to our request, not another session's:
        it echoes the session the request carried, and the answer to acquire is its own new
        session (a late answer that merely has the same id carries another session's)."""
        their = reply.get("session")
        if sent is ACQUIRING:
            result = reply.get("result")
            return their is None if result is None else (
                isinstance(result, dict) and their is not None and result.get("session") == their
            )
        return their == sent

    def call(self, method: str, params: dict[str, Any], timeout: float = DEFAULT_TIMEOUT) -> Any:
        return self.receive(self.send(method, params), timeout)

    def read_frame(self, timeout: float) -> bytes:
        """The next frame's payload (raw access for tests), or NoReply."""
        return self._next_frame(time.monotonic() + timeout)

    def _next_reply(self, deadline: float) -> dict[str, Any]:
        from host.core import cbor

        payload = self._next_frame(deadline)
        try:
            reply = cbor.loads(payload)
        except cbor.CBORError as exc:
            raise BadReply(f"{self.transport.path}: reply is not valid CBOR: {exc}") from exc
        if not isinstance(reply, dict) or ("result" in reply) == ("error" in reply):
            raise BadReply(f"{self.transport.path}: not a reply: {reply!r}")
        return reply

    def _next_frame(self, deadline: float) -> bytes:
        while not self._frames:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                # A short poll may end between the reports of one reply: its first part stays.
                raise NoReply(f"{self.transport.path}: no reply from the device")
            data = self.transport.read(remaining)
            if data:
                now = time.monotonic()
                if self.decoder.pending and now - self._fed_at > STALE_PART_S:
                    self.decoder.reset()  # a device that stopped mid-frame: its rest never comes
                self._fed_at = now
                for event in self.decoder.feed(data):
                    if isinstance(event, framing.Frame):
                        self._frames.append(event.payload)
        return self._frames.pop(0)


def default_path() -> str:
    return os.environ.get("QOS_DEVICE") or EMULATOR_PATH


def find_devices() -> list[DeviceInfo]:
    """The devices on USB, and the device $QOS_DEVICE names and the emulator if they answer a
    ping (neither can be enumerated): what `qos device list` and the daemon's /enumerate show."""
    found = enumerate_devices()
    listed = {d.path for d in found}
    for path in dict.fromkeys([default_path(), EMULATOR_PATH]):
        if path not in listed and _answers(path):
            kind = path.partition(":")[0]
            description = "emulator" if kind == "udp" else "QOS device ($QOS_DEVICE)"
            found.append(DeviceInfo(path, kind, description))
    return found


def _answers(path: str) -> bool:
    try:
        with Client.open(path, timeout=0.5) as device:
            device.ping()
        return True
    except (TransportError, DeviceError):
        return False


def debug_path_for(wire_path: str) -> str:
    """The debug link beside a UDP wire path (port+1), or $QOS_DEBUGLINK."""
    explicit = os.environ.get("QOS_DEBUGLINK")
    if explicit:
        return explicit
    scheme, _, address = wire_path.partition(":")
    host, _, port = address.rpartition(":")
    if scheme != "udp" or not port.isdigit():
        raise BadDevicePath(f"no debug link beside {wire_path}: set QOS_DEBUGLINK")
    return f"udp:{host}:{int(port) + 1}"


# ------------------------------------------------------------------ results


@dataclass(frozen=True)
class PublicKey:
    pubkey: bytes
    bech32: str


@dataclass(frozen=True)
class Signature:
    pubkey: bytes
    sig: bytes


@dataclass(frozen=True)
class SetupResult:
    pubkey: bytes
    check_rounds: int


# ------------------------------------------------------------------ argument checks


def check_pin(pin: str, name: str = "pin") -> str:
    if not isinstance(pin, str) or not PIN_PATTERN.fullmatch(pin):
        raise ValueError(f"{name} must be 4 to 50 digits")
    return pin


def check_path(account: int, index: int) -> dict[str, int]:
    for name, value in (("account", account), ("index", index)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < MAX_INDEX:
            raise ValueError(f"{name} must be an integer in 0..2^31-1, got {value!r}")
    return {"account": account, "index": index}


def _pin_server_param(url: str | None) -> dict[str, Any] | None:
    """{pubkey, url} of the PIN server at ``url`` for setup/recover (it must answer now)."""
    if url is None:
        return None
    from host.pinserver import client as pinserver

    info = pinserver.fetch_info(url)
    return {"pubkey": info.pubkey, "url": info.url}


def optional_params(params: dict[str, Any], **values: Any) -> dict[str, Any]:
    params.update({key: value for key, value in values.items() if value is not None})
    return params


# ------------------------------------------------------------------ the client


class Client:
    """One device: a method per device method (docs/protocol.md section 6)."""

    def __init__(
        self,
        transport: Transport,
        timeout: float = DEFAULT_TIMEOUT,
        host_entropy: Callable[[], bytes] | None = None,
    ) -> None:
        self.link = Link(transport)
        self.timeout = timeout
        self.user_timeout = USER_TIMEOUT  # for calls that wait for a button or long device work
        # The host's half of every new seed (setup's commit-reveal): health-tested by default.
        self.host_entropy = host_entropy or host_seed_entropy

    @classmethod
    def open(cls, path: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> Client:
        return cls(open_transport(path or default_path()), timeout)

    @property
    def path(self) -> str:
        return self.link.transport.path

    def close(self) -> None:
        if self.link.session is not None:
            # Not waiting for the answer: a device that went away must not slow the close down.
            try:
                self.link.send("release", {})
            except TransportError:
                pass
        self.link.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, method: str, params: dict[str, Any] | None = None, timeout: float = 0) -> Any:
        """Any method by name: the escape hatch for methods this class does not wrap.

        The device is acquired first if this client holds no session. If another host acquired
        it since, the device refused the request before running it, so it is sent once more in a
        new session; what the other host interrupted (a setup between its two steps, a PIN-server
        exchange) is gone with the old session and fails with :class:`WrongState`."""
        self._hold_session(method)
        try:
            return self.link.call(method, params or {}, timeout or self.timeout)
        except InvalidSession:
            self.acquire()
            return self.link.call(method, params or {}, timeout or self.timeout)

    def send(self, method: str, params: dict[str, Any] | None = None) -> int:
        """Sends a request without waiting (acquiring first if needed); its reply comes from
        ``self.link.receive(request_id, timeout)``."""
        self._hold_session(method)
        return self.link.send(method, params or {})

    def _hold_session(self, method: str) -> None:
        if method not in SESSIONLESS and self.link.session is None:
            self.acquire()

    def _wait_user(self, method: str, params: dict[str, Any]) -> Any:
        return self.call(method, params, self.user_timeout)

    def acquire(self) -> bytes:
        """Takes the device for this client: a new session, which ends any other host's (the
        device refuses that host's next request with :class:`InvalidSession`). Refused with
        :class:`DeviceBusy` while a request waits for the user."""
        self.link.session = None
        result = self.link.call("acquire", {}, self.timeout)
        session = result.get("session") if isinstance(result, dict) else None
        if not isinstance(session, bytes) or len(session) != 8:
            raise BadReply(f"acquire: bad session {session!r}")
        self.link.session = session
        return session

    # -- always available

    def ping(self, data: bytes = b"") -> bytes:
        result = self.call("ping", {"data": bytes(data)} if data else {})
        return result.get("data", b"") if isinstance(result, dict) else b""

    def get_info(self) -> dict[str, Any]:
        return reply_map(self.call("get_info"), "get_info")

    # -- creating a wallet

    def setup(
        self,
        pin: str,
        words: int = 24,
        label: str | None = None,
        check_rounds: int | None = None,
        pin_server: str | None = None,
    ) -> SetupResult:
        """Creates a wallet with commit-reveal entropy the host checks before trusting it.

        Each round the device first commits to its entropy, then gets ours. In a check round it
        reveals its entropy and the resulting key, and we recompute both; a device that tried to
        plant a chosen seed would be caught in a check round, and it cannot tell in advance which
        round is real, so the number of check rounds is random unless the caller fixes it.
        """
        check_pin(pin)
        if words not in SETUP_WORDS:
            raise ValueError("words must be 12 or 24")
        server = _pin_server_param(pin_server)
        if check_rounds is None:
            check_rounds = 1 + secrets.randbelow(3)
        if not 0 <= check_rounds <= 16:
            raise ValueError("check_rounds must be in 0..16")
        for _ in range(check_rounds):
            self.setup_check_round(pin, words, label)
        # The real round looks the same to the device up to this point; it cannot be checked,
        # which is what the check rounds before it are for.
        self._setup_begin(words)
        params = optional_params(
            {"host_entropy": self.host_entropy(), "pin": pin}, label=label, pin_server=server
        )
        result = self._relay(self._wait_user("setup", params))
        return SetupResult(pubkey=_bytes32(result, "pubkey"), check_rounds=check_rounds)

    def setup_check_round(self, pin: str, words: int = 24, label: str | None = None) -> bytes:
        """One check round; returns the pubkey the device derived (already verified)."""
        commitment = self._setup_begin(words)
        host_entropy = self.host_entropy()
        params = optional_params(
            {"host_entropy": host_entropy, "pin": pin, "check": True}, label=label
        )
        result = self.call("setup", params, self.user_timeout)
        device_entropy = result.get("device_entropy") if isinstance(result, dict) else None
        if not isinstance(device_entropy, bytes):
            raise SetupCheckFailed("the check round did not reveal the device entropy")
        if hashlib.sha256(device_entropy).digest() != commitment:
            raise SetupCheckFailed("the device entropy does not match its commitment")
        pubkey = _bytes32(result, "pubkey")
        expected = expected_setup_pubkey(device_entropy, host_entropy, words)
        if pubkey != expected:
            raise SetupCheckFailed("the device derived a different key than the entropy gives")
        return pubkey

    def _setup_begin(self, words: int) -> bytes:
        result = self.call("setup_begin", {"words": words})
        commitment = result.get("commitment") if isinstance(result, dict) else None
        if not isinstance(commitment, bytes) or len(commitment) != 32:
            raise BadReply(f"setup_begin: bad commitment {commitment!r}")
        return commitment

    def recover(
        self, mnemonic: str, pin: str, label: str | None = None, pin_server: str | None = None
    ) -> bytes:
        check_pin(pin)
        words = " ".join(mnemonic.split())
        if len(words.split()) not in (12, 18, 24):
            raise ValueError("a mnemonic has 12, 18 or 24 words")
        server = _pin_server_param(pin_server)
        params = optional_params({"mnemonic": words, "pin": pin}, label=label, pin_server=server)
        return _bytes32(self._relay(self._wait_user("recover", params)), "pubkey")

    # -- PIN and session

    def unlock(
        self,
        pin: str,
        passphrase: str | None = None,
        nfkd: bool | None = None,
        pin_server: str | None = None,
    ) -> None:
        """Unlocks with the PIN; a BIP39 passphrase selects another wallet from the same words.

        BIP39 hashes the passphrase in Unicode NFKD form, which the device cannot compute: a
        non-ASCII passphrase is normalised here and sent with ``nfkd: true`` (unless the caller
        says how to send it), so "café" typed either way opens the same wallet as other wallets.
        """
        check_pin(pin)
        if passphrase is not None and nfkd is None and not passphrase.isascii():
            passphrase, nfkd = unicodedata.normalize("NFKD", passphrase), True
        params = optional_params({"pin": pin}, passphrase=passphrase, nfkd=nfkd)
        self._pin_try("unlock", params, pin_server)

    def lock(self) -> None:
        self.call("lock")

    def change_pin(self, pin: str, new_pin: str, pin_server: str | None = None) -> None:
        check_pin(pin)
        check_pin(new_pin, "new_pin")
        self._pin_try("change_pin", {"pin": pin, "new_pin": new_pin}, pin_server)

    # -- the PIN server (docs/security.md): the device has no network, the host carries its
    # opaque request to the server and the reply back

    def _pin_try(self, method: str, params: dict[str, Any], url: str | None) -> Any:
        """A call that tries the PIN. With a PIN server, the server is reached first (a try the
        device counts must not be lost to a server that is down), then the request relayed."""
        self._check_pin_server(url)
        try:
            return self._relay(self._wait_user(method, params), url)
        except PinServerRetry:
            # The device took the server's request number and did not count that try.
            return self._relay(self._wait_user(method, params), url)

    def _check_pin_server(self, url: str | None) -> None:
        from host.pinserver import client as pinserver
        from host.pinserver.protocol import fingerprint

        server = self.get_info().get("pin_server")
        if not isinstance(server, dict):
            return
        info = pinserver.fetch_info(url or server["url"])
        if info.pubkey != server["pubkey"]:
            raise pinserver.PinServerError(
                f"{info.url} has key {info.fingerprint}, the device's PIN server has "
                f"{fingerprint(server['pubkey'])}: not relaying"
            )

    def _relay(self, result: Any, url: str | None = None) -> Any:
        """Carries the request of a device answer {pin_server: {url, request}} to the server and
        the reply back; returns the device's final answer."""
        from host.pinserver import client as pinserver

        if not (isinstance(result, dict) and isinstance(result.get("pin_server"), dict)):
            return result
        ask = result["pin_server"]
        reply = pinserver.relay(url or ask["url"], ask["request"])
        return self.call("pin_server_reply", {"reply": reply}, self.user_timeout)

    def wipe(self) -> None:
        self._wait_user("wipe", {})

    # -- firmware

    def update_firmware(
        self,
        manifest: bytes,
        signatures: list[tuple[bytes, bytes]],
        image: bytes,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, Any]:
        """Installs a signed release (host/devtools/release.py makes them): the device checks it
        and asks its user, takes the image in chunks, checks its hash in flash and restarts into
        it. Refused with :class:`UpdateRefused` (the running firmware stays)."""
        sigs = [[pub, sig] for pub, sig in signatures]
        begun = reply_map(
            self._wait_user("update_begin", {"manifest": manifest, "signatures": sigs}),
            "update_begin",
        )
        chunk = begun.get("chunk")
        if not isinstance(chunk, int) or chunk <= 0:
            raise BadReply(f"update_begin: bad chunk size {chunk!r}")
        for offset in range(0, len(image), chunk):
            self.call("update_chunk", {"offset": offset, "data": image[offset : offset + chunk]})
            if progress is not None:
                progress(min(offset + chunk, len(image)), len(image))
        result = reply_map(self._wait_user("update_finish", {}), "update_finish")
        self.link.session = None  # the device restarts: its sessions end
        return result

    # -- keys

    def get_public_key(self, account: int = 0, index: int = 0) -> PublicKey:
        result = self.call("get_public_key", check_path(account, index))
        bech32 = result.get("bech32") if isinstance(result, dict) else None
        if not isinstance(bech32, str):
            raise BadReply(f"get_public_key: bad reply {result!r}")
        return PublicKey(pubkey=_bytes32(result, "pubkey"), bech32=bech32)

    def get_address(self, account: int = 0, index: int = 0, show: bool = False) -> str:
        params = check_path(account, index)
        if show:
            result = self._wait_user("get_address", {**params, "show": True})
        else:
            result = self.call("get_address", params)
        address = result.get("address") if isinstance(result, dict) else None
        if not isinstance(address, str):
            raise BadReply(f"get_address: bad reply {result!r}")
        return address

    # -- signing

    def sign_tx(self, tx: Tx | bytes, account: int = 0, index: int = 0) -> Signature:
        """Signs a tx (a host.core.tx.Tx, or its det-CBOR bytes) after the user confirms it.

        Bytes are decoded and checked against the schema first (TxError, a ValueError, names the
        bad field); a Tx was checked and encoded when it was made, and is not again. The
        signature is verified here against the tx's sign bytes before it is returned, so a
        faulty or hostile device cannot hand back a signature over something else.
        """
        from host.core.tx import Tx

        if not isinstance(tx, Tx):
            tx = Tx.decode(tx)
        params = {**check_path(account, index), "tx": tx.encode()}
        signature = _signature(self._wait_user("sign_tx", params))
        _verify(signature, tx.sign_bytes(), "sign_tx")
        return signature

    def sign_message(
        self, chain: str, message: bytes | str, account: int = 0, index: int = 0
    ) -> Signature:
        data = message.encode() if isinstance(message, str) else bytes(message)
        sign_bytes = message_sign_bytes(chain, data)  # checks chain id and size before sending
        params = {**check_path(account, index), "chain": chain, "message": data}
        signature = _signature(self._wait_user("sign_message", params))
        _verify(signature, sign_bytes, "sign_message")
        return signature


# ------------------------------------------------------------------ host-side crypto checks


def host_seed_entropy(qrng_specs: Sequence[str] = ()) -> bytes:
    """32 bytes for setup's `host_entropy`: the OS source plus every configured QRNG source
    (qrng.sources.open_source specs such as `quantis` or `serial:/dev/ttyACM0`), each through the
    SP 800-90B start-up and continuous health tests and SHA-256 conditioning, then mixed
    (qrng.pipeline.host_entropy). Any failure raises HostEntropyError."""
    from qrng.pipeline import EntropyError, host_entropy
    from qrng.sources import OsSource, Source, SourceError, open_source

    sources: list[Source] = [OsSource()]
    try:
        sources += [open_source(spec) for spec in qrng_specs]
        return host_entropy(sources, 32)
    except (EntropyError, SourceError, OSError) as exc:
        raise HostEntropyError(f"host entropy: {exc}") from exc
    finally:
        for source in sources:
            source.close()


def expected_setup_pubkey(device_entropy: bytes, host_entropy: bytes, words: int) -> bytes:
    """The account 0 / index 0 key a wallet made from these two entropy halves must have."""
    from mnemonic import Mnemonic

    from host.core import keys

    seed_entropy = hashlib.sha256(device_entropy + host_entropy).digest()[: SETUP_WORDS[words]]
    mnemonic = Mnemonic("english").to_mnemonic(seed_entropy)
    return account_pubkey(keys.seed_from_mnemonic(mnemonic), 0, 0)


def account_pubkey(seed: bytes, account: int, index: int) -> bytes:
    from host.core import keys

    return keys.Account.from_seed(seed, account, index).pubkey


def message_sign_bytes(chain: str, message: bytes) -> bytes:
    from host.core import tx as txlib

    return txlib.message_sign_bytes(chain, message)


def reply_map(result: Any, what: str) -> dict[str, Any]:
    """A reply's result that must be a map (decoded CBOR is untyped until checked)."""
    if not isinstance(result, dict):
        raise BadReply(f"{what}: the reply is not a map: {result!r}")
    return result


def _bytes32(result: Any, key: str) -> bytes:
    value = result.get(key) if isinstance(result, dict) else None
    if not isinstance(value, bytes) or len(value) != 32:
        raise BadReply(f"reply has no 32-byte {key}: {result!r}")
    return value


def _signature(result: Any) -> Signature:
    sig = result.get("sig") if isinstance(result, dict) else None
    if not isinstance(sig, bytes) or len(sig) != 64:
        raise BadReply(f"reply has no 64-byte sig: {result!r}")
    return Signature(pubkey=_bytes32(result, "pubkey"), sig=sig)


def _verify(signature: Signature, sign_bytes: bytes, what: str) -> None:
    from host.core import keys

    if not keys.verify(signature.pubkey, sign_bytes, signature.sig):
        raise BadReply(f"{what}: the device returned a signature that does not verify")
