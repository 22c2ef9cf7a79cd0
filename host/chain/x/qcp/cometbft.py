"""CometBFT signed headers as QCP headers: the header hash and the precommit sign bytes of
CometBFT v0.38 (its Header.Hash and VoteSignBytes), so a client verifies a header by the commit
its validators signed in consensus instead of by signatures made on request.

A CometBFT light header travels as det-CBOR (docs/qcp.md section 2):
    {"chain", "height", "app_hash",            the QCP header fields (app hash after height - 1)
     "cometbft": {"version": [block, app], "time": [seconds, nanos],
                  "last_block_id": [hash, parts_total, parts_hash],
                  "hashes": [last_commit, data, validators, next_validators, consensus,
                             last_results, evidence],
                  "proposer": address,
                  "round": commit round, "block_id": [hash, parts_total, parts_hash],
                  "sigs": [[validator address, seconds, nanos, signature], ...]}}
(only the commit's COMMIT votes, flag 2, are carried: absent and nil votes count for nothing).
"""

from __future__ import annotations

from hashlib import sha256
from typing import Any

from host.core.merkle import merkle_root

PRECOMMIT = 2  # SignedMsgType


# ---- protobuf, just what the two encodings need ---------------------------------------------

def _varint(n: int) -> bytes:
    out = bytearray()
    n &= (1 << 64) - 1  # int64 negatives as two's complement, like protobuf
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _key(field: int, wire: int) -> bytes:
    return _varint(field << 3 | wire)


def _uint(field: int, n: int) -> bytes:
    return _key(field, 0) + _varint(n) if n else b""


def _sfixed64(field: int, n: int) -> bytes:
    return _key(field, 1) + (n & (1 << 64) - 1).to_bytes(8, "little") if n else b""


def _bytes(field: int, data: bytes) -> bytes:
    return _key(field, 2) + _varint(len(data)) + data if data else b""


def _message(field: int, body: bytes) -> bytes:
    """An embedded message that is always written (gogoproto non-nullable), even when empty."""
    return _key(field, 2) + _varint(len(body)) + body


def _timestamp(seconds: int, nanos: int) -> bytes:
    return _uint(1, seconds) + _uint(2, nanos)


def _block_id(hash_: bytes, total: int, parts_hash: bytes) -> bytes:
    return _bytes(1, hash_) + _message(2, _uint(1, total) + _bytes(2, parts_hash))


# ---- the two encodings --------------------------------------------------------------------------

def header_hash(chain: str, height: int, app_hash: bytes, fields: dict) -> bytes:
    block, app = fields["version"]
    last_commit, data, validators, next_validators, consensus, last_results, evidence = \
        fields["hashes"]
    return merkle_root([
        _uint(1, block) + _uint(2, app),
        _bytes(1, chain.encode()),
        _uint(1, height),
        _timestamp(*fields["time"]),
        _block_id(*fields["last_block_id"]),
        *(_bytes(1, h) for h in (last_commit, data, validators, next_validators, consensus,
                                 app_hash, last_results, evidence, fields["proposer"])),
    ])


def vote_sign_bytes(chain: str, height: int, round_: int, block_id: list, seconds: int,
                    nanos: int) -> bytes:
    """The length-prefixed CanonicalVote of a precommit for block_id."""
    body = (_uint(1, PRECOMMIT) + _sfixed64(2, height) + _sfixed64(3, round_)
            + _message(4, _block_id(*block_id)) + _message(5, _timestamp(seconds, nanos))
            + _bytes(6, chain.encode()))
    return _varint(len(body)) + body


def commit_signers(chain: str, height: int, app_hash: bytes, fields: dict,
                   powers: dict[bytes, int]) -> set[bytes]:
    """The keys of `powers` whose precommit for this header verifies (the commit must be for the
    header's own hash)."""
    from host.core.keys import verify

    if fields["block_id"][0] != header_hash(chain, height, app_hash, fields):
        return set()
    by_address = {sha256(pk).digest()[:20]: pk for pk in powers}
    signed: set[bytes] = set()
    for address, seconds, nanos, sig in fields["sigs"]:
        pk = by_address.get(address)
        message = vote_sign_bytes(chain, height, fields["round"], fields["block_id"], seconds,
                                  nanos)
        if pk is not None and pk not in signed and verify(pk, message, sig):
            signed.add(pk)
    return signed


# ---- from CometBFT's RPC (the relayer) ----------------------------------------------------------

def _time(text: str) -> tuple[int, int]:
    """RFC 3339 with up to nanoseconds -> (seconds, nanos)."""
    import datetime

    base, _, frac = text.rstrip("Z").partition(".")
    when = datetime.datetime.fromisoformat(base).replace(tzinfo=datetime.UTC)
    return int(when.timestamp()), int((frac + "000000000")[:9])


def _rpc_block_id(doc: dict) -> list:
    return [bytes.fromhex(doc["hash"]), int(doc["parts"]["total"]),
            bytes.fromhex(doc["parts"]["hash"])]


def light_header(signed_header: dict) -> dict[str, Any]:
    """The QCP form of /commit's `signed_header` (CometBFT JSON)."""
    import base64

    h, commit = signed_header["header"], signed_header["commit"]
    names = ("last_commit_hash", "data_hash", "validators_hash", "next_validators_hash",
             "consensus_hash", "last_results_hash", "evidence_hash")
    return {
        "chain": h["chain_id"], "height": int(h["height"]),
        "app_hash": bytes.fromhex(h["app_hash"]),
        "cometbft": {
            "version": [int(h["version"]["block"]), int(h["version"].get("app") or 0)],
            "time": list(_time(h["time"])),
            "last_block_id": _rpc_block_id(h["last_block_id"]),
            "hashes": [bytes.fromhex(h[n]) for n in names],
            "proposer": bytes.fromhex(h["proposer_address"]),
            "round": int(commit["round"]),
            "block_id": _rpc_block_id(commit["block_id"]),
            "sigs": [[bytes.fromhex(s["validator_address"]), *_time(s["timestamp"]),
                      base64.b64decode(s["signature"])]
                     for s in commit["signatures"] if s["block_id_flag"] == 2],
        },
    }
