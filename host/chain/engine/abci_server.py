"""A CometBFT v0.38 ABCI++ socket server for the QOS application.

CometBFT opens four connections (consensus, mempool, query, snapshot) to the app's socket, unix or
TCP. On each, requests arrive as protobuf `tendermint.abci.Request` messages, each prefixed by
its length as an unsigned varint; responses go back in the same order, same framing, those of
one read in one write (a Flush request is answered like the others, so by then every earlier
answer is on its way). All four connections share one event loop thread, so the application
sees one call at a time, as the ABCI contract requires.

A failure inside the application on the consensus connection is answered with an exception
response: CometBFT then stops rather than carry on with a state nobody can reproduce.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections import Counter
from collections.abc import Callable
from hashlib import sha256
from pathlib import Path
from typing import Any, Protocol

from host.chain.engine.abci_proto import (
    decode_uvarint,
    encode_exec_tx_result,
    encode_finalize_block_response,
    encode_uvarint,
    messages,
)
from host.chain.engine.base import Application
from host.chain.types import BlockInfo, BlockResult, Evidence, VoteInfo
from host.chain.upgrade import UpgradeNeeded
from host.core.errors import Code

log = logging.getLogger("qos.abci")

MAX_MESSAGE = 64 << 20  # a FinalizeBlock with a full block of txs stays far below this
PROOF_OP_TYPE = "qos:smt"  # the ProofOp type of the app's sparse-Merkle proofs


def parse_address(address: str) -> tuple[str, Any]:
    """('unix', path) or ('tcp', (host, port)) from unix:///path, unix:path or tcp://host:port."""
    if address.startswith("unix://"):
        return "unix", address[len("unix://") :]
    if address.startswith("unix:"):
        return "unix", address[len("unix:") :]
    rest = address[len("tcp://") :] if address.startswith("tcp://") else address
    host, sep, port = rest.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"ABCI address {address!r}: expected unix:///path or tcp://host:port")
    return "tcp", (host or "127.0.0.1", int(port))


class BlockListener(Protocol):
    """The engine-side hooks around each block CometBFT hands the application."""

    def begin(self, req: Any, txs: list[bytes]) -> None:
        """Before the block executes; ``req`` is CometBFT's RequestFinalizeBlock."""

    def executed(self, height: int, txs: list[bytes], result: BlockResult) -> None: ...

    def committed(self, height: int) -> None:
        """After app.commit()."""

    def dropped(self, tx_hash: bytes, reason: str) -> None:
        """CometBFT's recheck refused a tx: it leaves the mempool uncommitted."""

    def session_started(self) -> None:
        """CometBFT connected while no connection was open: it (re)started, mempool empty."""


class AbciServer:
    """Serve ``app`` to CometBFT; ``listener`` (optional) hears about each block."""

    def __init__(
        self, app: Application, address: str, listener: BlockListener | None = None
    ) -> None:
        self.app = app
        self.address = address
        self.listener = listener
        self.pb = messages()
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.BaseTransport] = set()
        self._last_finalized: int | None = None
        self._recheck = self.pb.enum_value("tendermint.abci.CheckTxType", "RECHECK")
        # CheckTx is most of the traffic (CometBFT rechecks the whole mempool after each block)
        # and an admitted tx always gets the same answer: built and serialised once
        self._admitted = self.pb.abci.ResponseCheckTx(code=0, log="ok", gas_wanted=1)
        self._admitted_answer = self.pb.abci.Response(check_tx=self._admitted).SerializeToString()
        # requests answered, by kind ("recheck_tx" apart from a new "check_tx"): /metrics shows
        # them, so the cost of each committed tx in ABCI round trips can be read off a node
        self.requests_served: Counter[str] = Counter()
        self.halted: UpgradeNeeded | None = None  # the plan the chain stopped for (qosd exits)
        self._handlers: dict[str, Callable[[Any], Any]] = {
            "echo": self._echo,
            "flush": lambda req: self.pb.abci.ResponseFlush(),
            "info": self._info,
            "init_chain": self._init_chain,
            "query": self._query,
            "check_tx": self._check_tx,
            "commit": self._commit,
            "list_snapshots": lambda req: self.pb.abci.ResponseListSnapshots(),
            "offer_snapshot": self._offer_snapshot,
            "load_snapshot_chunk": lambda req: self.pb.abci.ResponseLoadSnapshotChunk(),
            "apply_snapshot_chunk": self._apply_snapshot_chunk,
            "prepare_proposal": self._prepare_proposal,
            "process_proposal": self._process_proposal,
            "extend_vote": lambda req: self.pb.abci.ResponseExtendVote(),
            "verify_vote_extension": self._verify_vote_extension,
        }

    # ---- socket plumbing ----------------------------------------------------------------------
    async def start(self) -> None:
        kind, where = parse_address(self.address)
        loop = asyncio.get_running_loop()
        if kind == "unix":
            path = Path(where)
            if path.exists() or path.is_symlink():
                path.unlink()  # a stale socket from a killed process
            path.parent.mkdir(parents=True, exist_ok=True)
            self._server = await loop.create_unix_server(self._connection, path=str(path))
        else:
            host, port = where
            self._server = await loop.create_server(self._connection, host, port)
        log.info("ABCI server listening on %s", self.address)

    @property
    def port(self) -> int | None:
        if self._server is None or not self._server.sockets:
            return None
        name = self._server.sockets[0].getsockname()
        return name[1] if isinstance(name, tuple) else None

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for transport in list(self._connections):
                transport.close()
            await self._server.wait_closed()
            self._server = None
            kind, where = parse_address(self.address)
            if kind == "unix" and os.path.exists(where):
                os.unlink(where)

    def _connection(self) -> _Connection:
        return _Connection(self)

    def opened(self, transport: asyncio.BaseTransport) -> None:
        if not self._connections and self.listener is not None:
            self.listener.session_started()
        self._connections.add(transport)

    def closed(self, transport: asyncio.BaseTransport) -> None:
        self._connections.discard(transport)

    def answer(self, buf: bytearray, transport: asyncio.WriteTransport) -> None:
        """Answer every complete request in buf (consuming it). The answers go out in one write:
        CometBFT pipelines requests (a recheck sends the whole mempool before its Flush), and one
        socket send per answer cost more than the answer."""
        pos = 0
        out = bytearray()
        while True:
            head = decode_uvarint(buf, pos)
            if head is None:
                break
            length, start = head
            if length > MAX_MESSAGE:
                raise ValueError(f"ABCI message of {length} bytes exceeds {MAX_MESSAGE}")
            if len(buf) - start < length:
                break
            request = self.pb.abci.Request.FromString(bytes(buf[start : start + length]))
            pos = start + length
            answer = self.respond(request)
            out += encode_uvarint(len(answer))
            out += answer
        del buf[:pos]
        if out:
            transport.write(out)

    def respond(self, request: Any) -> bytes:
        """One Request -> its Response, serialised. The two requests that carry txs (a CheckTx,
        a FinalizeBlock) are answered without building a Response message."""
        kind = request.WhichOneof("value")
        if kind == "check_tx":
            return self._check_tx_answer(request.check_tx)
        if kind == "finalize_block":
            self._count(kind, request.finalize_block)
            try:
                return self._finalize_block(request.finalize_block)
            except Exception as exc:
                return self._failure(kind, exc).SerializeToString()
        return self._response(request).SerializeToString()

    def handle(self, request: Any) -> Any:
        """One Request -> one Response message (public so tests can drive it without a socket)."""
        return self.pb.abci.Response.FromString(self.respond(request))

    def _response(self, request: Any) -> Any:
        kind = request.WhichOneof("value")
        self._count(kind or "unknown", getattr(request, kind) if kind else None)
        handler = self._handlers.get(kind) if kind else None
        response = self.pb.abci.Response()
        if handler is None:
            response.exception.error = f"unknown ABCI request {kind!r}"
            return response
        try:
            getattr(response, kind).CopyFrom(handler(getattr(request, kind)))
        except Exception as exc:
            return self._failure(kind, exc)
        return response

    def _failure(self, kind: str, exc: Exception) -> Any:
        """The exception response to a failed request: CometBFT halts on it."""
        response = self.pb.abci.Response()
        if isinstance(exc, UpgradeNeeded):  # a governance upgrade plan: halt at its height
            log.error("%s", exc)
            self.halted = exc
            response.exception.error = f"{kind}: {exc}"
        else:  # the app is inconsistent
            log.exception("ABCI %s failed", kind)
            response.exception.error = f"{kind}: {type(exc).__name__}: {exc}"
        return response

    def _count(self, kind: str, body: Any) -> None:
        """One request of ``kind`` served; ``body`` is its Request<Kind> message."""
        if kind == "check_tx" and body.type == self._recheck:
            kind = "recheck_tx"
        self.requests_served[kind] += 1

    # ---- handlers -----------------------------------------------------------------------------
    def _echo(self, req: Any) -> Any:
        return self.pb.abci.ResponseEcho(message=req.message)

    def _info(self, req: Any) -> Any:
        info = self.app.info()
        return self.pb.abci.ResponseInfo(
            data=f"qos {info.chain_id}",
            version=info.version,
            app_version=info.app_version,
            last_block_height=info.last_height,
            last_block_app_hash=info.last_app_hash if info.last_height > 0 else b"",
        )

    def _init_chain(self, req: Any) -> Any:
        try:
            genesis = json.loads(req.app_state_bytes or b"{}")
        except ValueError as exc:
            raise ValueError(f"genesis app_state is not JSON: {exc}") from exc
        if not isinstance(genesis, dict):
            raise ValueError("genesis app_state must be a JSON object")
        if genesis.get("chain_id", req.chain_id) != req.chain_id:
            raise ValueError(
                f"app_state chain_id {genesis['chain_id']!r} != CometBFT's {req.chain_id!r}"
            )
        genesis["chain_id"] = req.chain_id
        genesis.setdefault("genesis_time", req.time.seconds + req.time.nanos / 1e9)
        # CometBFT repeats InitChain if it stopped between our genesis commit and block 1: the
        # application answers the genesis it committed again, and refuses any other
        result = self.app.init_chain(genesis)
        response = self.pb.abci.ResponseInitChain(app_hash=result.app_hash)
        for update in result.validators:
            self._add_update(response.validators, update)
        return response

    def _query(self, req: Any) -> Any:
        result = self.app.query(req.path, req.data, req.height, req.prove)
        value = result.value
        if value is None:
            value_bytes = b""
        elif isinstance(value, bytes | bytearray):
            value_bytes = bytes(value)
        else:
            value_bytes = json.dumps(value, sort_keys=True, default=_json_default).encode()
        response = self.pb.abci.ResponseQuery(
            code=result.code,
            log=result.log,
            codespace=result.codespace,
            key=result.key,
            value=value_bytes,
            height=result.height,
        )
        if result.proof is not None:
            op = response.proof_ops.ops.add()
            op.type = PROOF_OP_TYPE
            op.key = result.key
            op.data = result.proof
        return response

    def _check_tx_answer(self, req: Any) -> bytes:
        """respond() to a CheckTx, without copying the answer of an admitted tx."""
        self._count("check_tx", req)
        response = self._check_tx(req)
        if response is self._admitted:
            return self._admitted_answer
        return self.pb.abci.Response(check_tx=response).SerializeToString()

    def _check_tx(self, req: Any) -> Any:
        try:
            result = self.app.check_tx(req.tx, recheck=req.type == self._recheck)
        except Exception as exc:  # a bug must not take the mempool connection down
            log.exception("check_tx raised")
            return self.pb.abci.ResponseCheckTx(
                code=Code.INTERNAL, log=f"internal error: {exc}", codespace=Code.INTERNAL.label
            )
        if result.code != 0 and req.type == self._recheck and self.listener is not None:
            # CometBFT removes a tx that fails its recheck from the mempool: a drop
            reason = f"failed recheck: {result.codespace}: {result.log}"
            self.listener.dropped(sha256(req.tx).digest(), reason)
        if result.code == 0:
            return self._admitted
        return self.pb.abci.ResponseCheckTx(
            code=result.code,
            log=result.log,
            codespace=result.codespace if result.code else "",
            gas_wanted=1,
        )

    def _prepare_proposal(self, req: Any) -> Any:
        """Keep CometBFT's order; drop txs past max_tx_bytes (counted as CometBFT counts them)."""
        response = self.pb.abci.ResponsePrepareProposal()
        total = 0
        for tx in req.txs:
            size = len(tx) + len(encode_uvarint(len(tx))) + 1  # proto field overhead
            if total + size > req.max_tx_bytes:
                break
            total += size
            response.txs.append(tx)
        return response

    def _process_proposal(self, req: Any) -> Any:
        # Every tx is validated again when the block executes; a bad tx gets a failed result
        # rather than a rejected block, as on CometBFT's default (and as with the solo engine).
        status = self.pb.enum_value(
            "tendermint.abci.ResponseProcessProposal.ProposalStatus", "ACCEPT"
        )
        return self.pb.abci.ResponseProcessProposal(status=status)

    def _verify_vote_extension(self, req: Any) -> Any:
        status = self.pb.enum_value(
            "tendermint.abci.ResponseVerifyVoteExtension.VerifyStatus", "ACCEPT"
        )
        return self.pb.abci.ResponseVerifyVoteExtension(status=status)

    def _offer_snapshot(self, req: Any) -> Any:
        reject = self.pb.enum_value("tendermint.abci.ResponseOfferSnapshot.Result", "REJECT")
        return self.pb.abci.ResponseOfferSnapshot(result=reject)

    def _apply_snapshot_chunk(self, req: Any) -> Any:
        abort = self.pb.enum_value("tendermint.abci.ResponseApplySnapshotChunk.Result", "ABORT")
        return self.pb.abci.ResponseApplySnapshotChunk(result=abort)

    def _finalize_block(self, req: Any) -> bytes:
        block = self.block_info(req)
        txs = list(req.txs)
        if self.listener is not None:
            self.listener.begin(req, txs)
        result = self.app.finalize_block(block)
        if len(result.tx_results) != len(txs):
            raise RuntimeError("the application returned a result count != the block's txs")
        self._last_finalized = block.height
        if self.listener is not None:
            self.listener.executed(block.height, txs, result)
        rest = self.pb.abci.ResponseFinalizeBlock(app_hash=result.app_hash)
        for update in result.validator_updates:
            self._add_update(rest.validator_updates, update)
        tx_results = [
            encode_exec_tx_result(r.code, r.log, r.codespace if r.code else "", r.events)
            for r in result.tx_results
        ]
        return encode_finalize_block_response(result.events, tx_results, rest.SerializeToString())

    def _commit(self, req: Any) -> Any:
        self.app.commit()
        if self.listener is not None and self._last_finalized is not None:
            self.listener.committed(self._last_finalized)
        return self.pb.abci.ResponseCommit(retain_height=0)

    # ---- conversions --------------------------------------------------------------------------
    def block_info(self, req: Any) -> BlockInfo:
        absent = self.pb.enum_value("tendermint.types.BlockIDFlag", "BLOCK_ID_FLAG_ABSENT")
        unknown = self.pb.enum_value("tendermint.types.BlockIDFlag", "BLOCK_ID_FLAG_UNKNOWN")
        votes = [
            VoteInfo(
                bytes(v.validator.address),
                v.block_id_flag not in (absent, unknown),
                v.validator.power,
            )
            for v in req.decided_last_commit.votes
        ]
        kinds = {1: "duplicate_vote", 2: "light_client_attack"}
        evidence = [
            Evidence(
                kinds.get(m.type, "unknown"),
                bytes(m.validator.address),
                m.height,
                m.time.seconds + m.time.nanos / 1e9,
                m.total_voting_power,
            )
            for m in req.misbehavior
        ]
        return BlockInfo(
            height=req.height,
            time=req.time.seconds * 1_000_000_000 + req.time.nanos,
            proposer=bytes(req.proposer_address),
            txs=list(req.txs),
            votes=votes,
            misbehavior=evidence,
        )

    @staticmethod
    def _add_update(target: Any, update: Any) -> None:
        item = target.add(power=update.power)
        item.pub_key.ed25519 = update.pubkey


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


class _Connection(asyncio.Protocol):
    """One CometBFT connection: requests answered as their bytes arrive, from the event loop's
    read callback, with no stream reader or task between the socket and the application (under
    load most reads carry one or two requests, so each read's own cost counts). While the socket
    cannot take the answers, reading stops, so a slow CometBFT is not answered into an unbounded
    buffer."""

    def __init__(self, server: AbciServer) -> None:
        self.server = server
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.server.opened(transport)

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buf += data
        try:
            self.server.answer(self.buf, self.transport)
        except Exception as exc:  # a malformed frame: this connection cannot be resynchronised
            log.error("ABCI connection closed: %s", exc)
            self.transport.close()

    def pause_writing(self) -> None:
        assert self.transport is not None
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        assert self.transport is not None
        self.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.server.closed(self.transport)
