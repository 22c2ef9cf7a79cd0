"""The PIN server (`qos pin-server`): a blind oracle that enforces a device's PIN tries.

The device's storage key needs the PIN, the device's crypto-erase secret and a secret this server
keeps per wallet (Blockstream Jade's model). The server learns neither the PIN nor the seed: it
compares a value derived from the stretched PIN and answers a key, or a random one after a wrong
PIN, and deletes its secret after three wrong PINs in a row. docs/security.md, "PIN server".

- protocol.py: the message formats and keys (the device's half is firmware/storage/oracle.py)
- store.py: the durable record store (SQLite, records encrypted at rest)
- server.py: the asyncio HTTP service and the oracle's rules
- client.py: what the host bridge uses to reach a server
The command is host/cli/pinserver.py (`qos pin-server`); host/devtools/pinserver.py runs one in its
own process for tests and the demo.
"""

from pathlib import Path

DEFAULT_PORT = 21340
DEFAULT_DATA = Path.home() / ".qos" / "pin-server"
