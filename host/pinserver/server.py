"""The PIN oracle's rules and its HTTP service (asyncio, aiohttp).

    GET  /v1/info  -> {"protocol": 1, "pubkey": hex, "fingerprint": 16 hex digits}
    POST /v1/pin   body: a request (application/octet-stream)
                   200: the reply; 409: the reply, status STALE (a replayed or outdated request,
                   refused without touching the record); 400: not a valid, signed request

Each request is judged in one database transaction, committed before the reply leaves: a reply
the device gets always reflects what is on disk, and a kill -9 before the commit changes nothing.
"""

from __future__ import annotations

import asyncio
import hmac
import os
import struct
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from host.pinserver import protocol
from host.pinserver.protocol import Op, ProtocolError, Request, Status, mac
from host.pinserver.store import MAX_PREDECESSORS, Record, RecordStore, row_id

MAX_FAILURES = 3
KEY_FILE = "server.key"
DB_FILE = "records.sqlite"


def load_or_create_key(data_dir: Path) -> X25519PrivateKey:
    """The server's X25519 key: made once, kept in ``server.key`` (mode 0600)."""
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".new")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(os.urandom(32))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    raw = path.read_bytes()
    if len(raw) != 32:
        raise ValueError(f"{path} is not a 32-byte X25519 key")
    return X25519PrivateKey.from_private_bytes(raw)


class PinOracle:
    """Judges requests against the record store; synchronous (the service runs it in one
    worker thread, so requests are judged one at a time)."""

    def __init__(self, data_dir: Path) -> None:
        self.key = load_or_create_key(data_dir)
        raw = self.key.private_bytes_raw()
        self.pubkey = self.key.public_key().public_bytes_raw()
        self.store = RecordStore(data_dir / DB_FILE, mac(raw, b"qos/pin-server/records"))

    def close(self) -> None:
        self.store.close()

    def handle(self, data: bytes) -> tuple[int, bytes]:
        """(HTTP status, body) for one request."""
        try:
            request = protocol.open_request(self.key, data)
        except ProtocolError as exc:
            return 400, str(exc).encode()
        judge = {Op.SET: self._set, Op.GET: self._get, Op.CHANGE: self._change}[request.op]
        with self.store.transaction():
            status, answer = judge(request)
        http = 409 if status == Status.STALE else 200
        return http, protocol.seal_reply(request, status, answer)

    # -- the rules

    def _set(self, req: Request) -> tuple[Status, bytes]:
        existing = self.store.load(req.id_pub)
        if existing is not None:  # identities are fresh per wallet: this is a replay
            return Status.STALE, _stale(existing)
        record = _new_record(req.pin_secret, req.fields[32:64], req.seq)
        self.store.save(req.id_pub, record)
        return Status.OK, mac(record.secret, req.pin_secret) + os.urandom(32)

    def _get(self, req: Request) -> tuple[Status, bytes]:
        record = self.store.load(req.id_pub)
        if record is None:
            return Status.OK, os.urandom(64)  # no such wallet (or erased): a key opening nothing
        if req.seq <= record.seq:
            return Status.STALE, _stale(record)
        if not self._judge(req, record):
            return Status.OK, os.urandom(64)
        for key in record.predecessors:  # the first right PIN after a change ends the old rows
            self.store.delete(key)
        record.predecessors = []
        self.store.save(req.id_pub, record)
        return Status.OK, mac(record.secret, req.pin_secret) + os.urandom(32)

    def _change(self, req: Request) -> tuple[Status, bytes]:
        record = self.store.load(req.id_pub)
        if record is None:
            return Status.OK, os.urandom(64)
        if req.seq <= record.seq:
            return Status.STALE, _stale(record)
        if not self._judge(req, record):
            return Status.OK, os.urandom(64)
        new_id, new_pin_secret, entropy = req.fields[32:64], req.fields[64:96], req.fields[96:128]
        new = _new_record(new_pin_secret, entropy, req.seq)
        # The old row stays until the new one is first used with the right PIN, so a device that
        # loses power before storing the new PIN can still open its wallet with the old one.
        new.predecessors = (record.predecessors + [row_id(req.id_pub)])[-MAX_PREDECESSORS:]
        self.store.save(req.id_pub, record)
        self.store.save(new_id, new)
        answer = mac(record.secret, req.pin_secret) + mac(new.secret, new_pin_secret)
        return Status.OK, answer

    def _judge(self, req: Request, record: Record) -> bool:
        """Checks the PIN and records the outcome (and the request number) in ``record``; the
        third wrong PIN in a row deletes the row."""
        record.seq = req.seq
        if hmac.compare_digest(record.pin_hash, _pin_hash(req.pin_secret)):
            record.failures = 0
            return True
        record.failures += 1
        if record.failures >= MAX_FAILURES:
            self.store.delete(row_id(req.id_pub))
        else:
            self.store.save(req.id_pub, record)
        return False


def _pin_hash(pin_secret: bytes) -> bytes:
    return mac(b"qos/pin-server/pin", pin_secret)


def _new_record(pin_secret: bytes, entropy: bytes, seq: int) -> Record:
    # The device's entropy is mixed in: a server with a broken generator still makes a secret
    # no one else knows.
    secret = mac(os.urandom(32), entropy)
    return Record(pin_hash=_pin_hash(pin_secret), secret=secret, seq=seq)


def _stale(record: Record) -> bytes:
    return struct.pack(">Q", record.seq) + bytes(56)


# ---------------------------------------------------------------- the service


def make_app(oracle: PinOracle) -> web.Application:
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pin-oracle")
    info = {
        "protocol": 1,
        "pubkey": oracle.pubkey.hex(),
        "fingerprint": protocol.fingerprint(oracle.pubkey),
    }

    async def get_info(request: web.Request) -> web.Response:
        return web.json_response(info)

    async def post_pin(request: web.Request) -> web.Response:
        data = await request.content.read(protocol.MAX_REQUEST + 1)
        if len(data) > protocol.MAX_REQUEST:
            return web.Response(status=413, text="request too large")
        loop = asyncio.get_running_loop()
        status, body = await loop.run_in_executor(worker, oracle.handle, data)
        content_type = "text/plain" if status == 400 else "application/octet-stream"
        return web.Response(status=status, body=body, content_type=content_type)

    async def shutdown(app: web.Application) -> None:
        worker.shutdown(wait=True)
        oracle.close()

    app = web.Application(client_max_size=4096)
    app.router.add_get("/v1/info", get_info)
    app.router.add_post("/v1/pin", post_pin)
    app.on_cleanup.append(shutdown)
    return app


async def serve(data_dir: Path, host: str, port: int) -> None:
    oracle = PinOracle(data_dir)
    runner = web.AppRunner(make_app(oracle), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    print(
        f"PIN server on http://{host}:{port}, data {data_dir}\n"
        f"key {oracle.pubkey.hex()}\nfingerprint {protocol.fingerprint(oracle.pubkey)}",
        flush=True,
    )
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
