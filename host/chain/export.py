"""A node's committed state as one JSON document, and a new home made from it at the same app hash.

`qosd export` writes the document; `qosd init --from-export FILE --validator-key KEY` builds a
home from it that continues the same chain at height+1 on the solo engine:

    {"format": "qos-export/1", "chain_id", "height", "app_hash" (hex),
     "state": {key hex: value hex}                  every committed key of the application,
     "last_block": {...} | null                      block `height` as the block store holds it
                                                     (signed header, commit, txs, results),
     "valsets": {"<h>": [[pubkey hex, power], ...]}  the engine's validator sets for heights
                                                     height..height+2 (who signed the last block,
                                                     who signs what comes next)}

The import trusts nothing in the file: the state must hash to app_hash (the Merkle root is a
function of the key/value set only); the last block's header must hash to its id, carry a
commit by more than 2/3 of the set exported for its height, commit to its txs and to the next
validator set, and record the same app hash; the validator key must be in the set that signs
block height+1. The home is built in a temporary
directory beside the target and renamed into place only when all of that holds, so a bad export
changes nothing.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import Any

FORMAT = "qos-export/1"


def export_home(home: Path) -> dict[str, Any]:
    """The committed state of a stopped node home (the caller holds its HomeLock)."""
    from host.chain.app import Application
    from host.chain.engine.blockstore import BlockStore

    data = home / "data"
    if not (data / "app.db").exists():
        raise FileNotFoundError(f"no state at {data / 'app.db'}")
    app = Application(data / "app.db")
    blocks = BlockStore(data / "blocks.db")
    try:
        info = app.info()
        height = info.last_height
        if blocks.last_height() > height:
            # signed but not executed (a crash mid-block): the node replays it on start; a
            # home imported without it would sign another block at that height
            raise RuntimeError(
                f"{home}: block {blocks.last_height()} is signed but not executed yet; start "
                "the node once (it replays the block), stop it, then export"
            )
        valsets = {}
        for h in range(max(height, 1), height + 3):
            validators = blocks.valset(h)
            if validators is not None:
                valsets[str(h)] = [[v.pubkey.hex(), v.power] for v in validators]
        return {
            "format": FORMAT,
            "chain_id": info.chain_id,
            "height": height,
            "app_hash": info.last_app_hash.hex(),
            "state": {key.hex(): value.hex() for key, value in app.store.iterate(b"")},
            "last_block": blocks.export_block(height) if height else None,
            "valsets": valsets,
        }
    finally:
        blocks.close()
        app.close()


@dataclass
class Imported:
    chain_id: str
    height: int
    app_hash: bytes


def load_export(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text())
    except OSError as exc:
        raise ValueError(f"{path}: cannot read ({exc.strerror})") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a qosd export (not JSON: {exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(f"{path}: not a qosd export (format is not {FORMAT!r})")
    return doc


def import_home(
    home: Path, doc: dict[str, Any], key_path: Path, write_config: Callable[[Path, str], None]
) -> Imported:
    """Build `home` from an export; write_config(tmp_home, chain_id) writes node.toml.
    Raises ValueError (nothing written) when the export or the key does not hold."""
    from host.chain.engine.privval import ValidatorKey

    if home.exists() and any(home.iterdir()):
        raise FileExistsError(f"{home} exists and is not empty; refusing to overwrite it")
    try:
        chain_id, height, app_hash = doc["chain_id"], doc["height"], bytes.fromhex(doc["app_hash"])
        state = {bytes.fromhex(k): bytes.fromhex(v) for k, v in doc["state"].items()}
        valsets = {int(h): _valset(v) for h, v in doc["valsets"].items()}
        last_block = doc["last_block"]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"export is malformed ({exc!r})") from None
    if not isinstance(chain_id, str) or not isinstance(height, int) or height < 0:
        raise ValueError("export is malformed (chain_id or height)")
    for h in (height + 1, height + 2):
        if h not in valsets:
            raise ValueError(f"export has no validator set for height {h} (only solo node "
                             "homes can be imported)")
    key = ValidatorKey.load(key_path)
    if key.pubkey not in {v.pubkey for v in valsets[height + 1]}:
        raise ValueError(f"{key_path}: this validator key is not in the set that signs block "
                         f"{height + 1}; the imported chain could not continue with it")
    if height:
        if height not in valsets:
            raise ValueError(f"export has no validator set for height {height} (who signed "
                             "its last block)")
        _check_last_block(last_block, chain_id, height, app_hash, valsets)
    elif last_block is not None:
        raise ValueError("export is malformed (a last block at height 0)")
    tmp = home.parent / f".{home.name}.import-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        _build(tmp, chain_id, height, app_hash, state, valsets, last_block)
        write_config(tmp, chain_id)
        key.save(tmp / "config" / "priv_validator_key.json")
        if home.exists():
            home.rmdir()  # empty (checked above)
        tmp.rename(home)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return Imported(chain_id, height, app_hash)


def _decode(raw: bytes | None) -> Any:
    import cbor2

    try:
        return None if raw is None else cbor2.loads(raw)
    except (ValueError, cbor2.CBORDecodeError):
        return None


def _valset(rows: Any) -> list:
    from host.chain.types import ValidatorUpdate

    out = [ValidatorUpdate(bytes.fromhex(pk), power) for pk, power in rows]
    if not out or any(len(v.pubkey) != 32 or not isinstance(v.power, int) or v.power <= 0
                      for v in out):
        raise ValueError("a validator set needs 32-byte keys with positive powers")
    return out


def _check_last_block(block: Any, chain_id: str, height: int, app_hash: bytes,
                      valsets: dict[int, list]) -> None:
    """Block `height` must be the block signed by > 2/3 of its set whose execution gave
    app_hash, and name the set exported for height+1."""
    from host.chain.engine.solo import valset_hash, verify_commit
    from host.core import cbor
    from host.core.merkle import merkle_root

    try:
        header_bytes = bytes.fromhex(block["header"])
        header = cbor.loads(header_bytes)
        commit = cbor.loads(bytes.fromhex(block["commit"]))
        txs = [bytes.fromhex(t["tx"]) for t in block["txs"]]
        ok = (
            block["height"] == height
            and bytes.fromhex(block["hash"]) == sha256(header_bytes).digest()
            and header["chain"] == chain_id
            and header["height"] == height
            and header["time"] == block["time_ns"]
            and verify_commit(chain_id, header_bytes, commit, valsets[height])
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"export's last block is malformed ({exc!r})") from None
    if not ok:
        raise ValueError(f"export's block {height} is not a validly signed block of {chain_id}")
    if header["txs_hash"] != merkle_root(txs):
        raise ValueError(f"export's block {height} txs do not match its header")
    if header["next_validators_hash"] != valset_hash(valsets[height + 1]):
        raise ValueError(f"export's validator set for {height + 1} is not the one block "
                         f"{height} names")
    if block.get("app_hash") != app_hash.hex():
        raise ValueError(f"export's block {height} records another app hash than the state's")


def _build(tmp: Path, chain_id: str, height: int, app_hash: bytes, state: dict, valsets: dict,
           last_block: dict | None) -> None:
    from host.chain.app import K_CHAIN_ID, Application
    from host.chain.engine.blockstore import BlockStore

    (tmp / "data").mkdir(parents=True)
    app = Application(tmp / "data" / "app.db")
    try:
        root = app.store.stage(height, state)
        if root != app_hash:
            raise ValueError(f"export's state hashes to {root.hex()}, not its app hash "
                             f"{app_hash.hex()}: the file is damaged")
        if _decode(state.get(K_CHAIN_ID)) != chain_id:
            raise ValueError(f"export's state is not of chain {chain_id!r}")
        app.store.commit()
    finally:
        app.close()
    blocks = BlockStore(tmp / "data" / "blocks.db")
    try:
        if last_block is not None:
            blocks.import_block(last_block)
        for h, validators in valsets.items():
            blocks.save_valset(h, validators)
    finally:
        blocks.close()
