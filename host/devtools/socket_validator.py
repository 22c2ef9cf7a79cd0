"""One validator wired as `qosd start` wires it under CometBFT (block store, recorder and the
explorer's index behind its ABCI server), served on a unix socket for a caller that speaks as
CometBFT would: `bench app` times it, tests/chain/test_native.py compares its answers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from host.chain.app import Application
from host.chain.engine.abci_proto import decode_uvarint
from host.chain.engine.blockstore import BlockStore
from host.chain.engine.cometbft import CometEngine
from host.chain.indexer import Indexer


@asynccontextmanager
async def socket_validator(
    app: Application, folder: Path,
) -> AsyncIterator[tuple[CometEngine, Indexer, asyncio.StreamReader, asyncio.StreamWriter]]:
    """(engine, index, reader, writer): CometBFT's end of the socket is the reader and writer."""
    store = BlockStore(folder / "blocks.db", durable=False)
    engine = CometEngine(app, store, f"unix://{folder}/abci.sock", "http://127.0.0.1:9")
    indexer = Indexer(store, folder / "index.db")
    engine.recorder.on_commit.append(indexer.at_commit)
    await engine.abci.start()
    reader, writer = await asyncio.open_unix_connection(f"{folder}/abci.sock")
    try:
        yield engine, indexer, reader, writer
    finally:
        writer.close()
        await engine.abci.close()
        indexer.close()
        store.close()


async def read_answers(reader: asyncio.StreamReader, count: int) -> list[bytes]:
    """The next `count` framed Responses on CometBFT's end of the socket, each without its length
    prefix."""
    buf, answers = bytearray(), list[bytes]()
    while len(answers) < count:
        head = decode_uvarint(buf)
        if head is None or len(buf) < head[1] + head[0]:
            chunk = await asyncio.wait_for(reader.read(1 << 16), 30)
            if not chunk:
                raise ConnectionError("the ABCI server closed the connection")
            buf += chunk
            continue
        length, start = head
        answers.append(bytes(buf[start : start + length]))
        del buf[: start + length]
    return answers
