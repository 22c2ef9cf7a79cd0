"""`qosd`: create, run and export a QOS node; start a local CometBFT testnet.

qosd init --home DIR [--chain-id ID] [--account ADDR=UNITS ...]   a one-validator solo node
qosd start --home DIR                                             run it (solo or cometbft)
qosd testnet --validators 4 --dir DIR                             a loopback CometBFT network
qosd export --home DIR [--out FILE]                               the committed state as JSON
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qosd", description=__doc__.splitlines()[0])
    parser.add_argument("--log-level", default="INFO", help="DEBUG | INFO | WARNING | ERROR")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = sub.add_parser("init", help="create a solo node home (keys, genesis, config)")
    init.add_argument("--home", required=True, type=Path)
    init.add_argument("--chain-id", default="qos-local")
    init.add_argument("--block-interval", type=float, default=3.0, help="seconds (default 3)")
    init.add_argument("--api", default="127.0.0.1:1317", help="API listen HOST:PORT")
    init.add_argument(
        "--account",
        action="append",
        default=[],
        metavar="ADDR=UNITS",
        help="a genesis balance (repeatable); 1 QOS = 10^4 units",
    )
    init.set_defaults(func=cmd_init)

    start = sub.add_parser("start", help="run the node in the foreground")
    start.add_argument("--home", required=True, type=Path)
    start.set_defaults(func=cmd_start)

    testnet = sub.add_parser("testnet", help="write and start a local CometBFT network")
    testnet.add_argument("--validators", type=int, default=4)
    testnet.add_argument("--dir", required=True, type=Path, help="where the homes go")
    testnet.add_argument("--chain-id", default="qos-testnet")
    testnet.add_argument("--base-port", type=int, default=26600, help="ports base+10*i+6..9")
    testnet.add_argument("--no-start", action="store_true", help="only write the configs")
    testnet.set_defaults(func=cmd_testnet)

    export = sub.add_parser("export", help="dump the committed state (stop the node first)")
    export.add_argument("--home", required=True, type=Path)
    export.add_argument("--out", type=Path, default=None)
    export.set_defaults(func=cmd_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.func(args) or 0
    except KeyboardInterrupt:
        return 130
    except (ValueError, FileExistsError, FileNotFoundError, RuntimeError) as exc:
        print(f"qosd: error: {exc}", file=sys.stderr)
        return 1


def _parse_account(text: str) -> tuple[bytes, int]:
    from host.core.keys import decode_address

    addr, sep, units = text.partition("=")
    if not sep or not units.isdigit():
        raise ValueError(f"--account {text!r}: expected qosacc1...=UNITS")
    return decode_address(addr), int(units)


def cmd_init(args: argparse.Namespace) -> int:
    from host.chain.engine.privval import ValidatorKey
    from host.chain.genesis import Genesis, GenesisAccount, GenesisValidator
    from host.chain.node import NodeConfig
    from host.devtools.keyfile import new_account, save_key

    home: Path = args.home
    if (home / "config").exists():
        raise FileExistsError(f"{home}/config exists; refusing to overwrite a node")
    accounts = [_parse_account(a) for a in args.account]
    config = NodeConfig(
        chain_id=args.chain_id, block_interval=args.block_interval, api_listen=args.api
    )
    config.validate()
    key = ValidatorKey.generate()
    operator = new_account()
    bond = 100_000 * 10_000
    genesis = Genesis(
        chain_id=args.chain_id,
        genesis_time=time.time(),
        accounts=[GenesisAccount(operator.address, 10 * bond)]
        + [GenesisAccount(a, u) for a, u in accounts],
        validators=[GenesisValidator(operator.address, key.pubkey, bond, "solo")],
    )
    genesis.validate()
    config.save(home / "config" / "node.toml")
    key.save(home / "config" / "priv_validator_key.json")
    save_key(home / "config" / "operator_key.json", operator)
    genesis.save(home / "config" / "genesis.json")
    print(f"initialised {args.chain_id} in {home}")
    print(f"  validator {key.address.hex()}  operator {operator.address_string}")
    print(f"  operator key file: {home / 'config' / 'operator_key.json'}")
    return 0


def cmd_start(args: argparse.Namespace) -> int:
    import asyncio

    from host.chain.node import run

    asyncio.run(run(args.home))
    return 0


def cmd_testnet(args: argparse.Namespace) -> int:
    import signal

    from host.devtools.testnet import Testnet

    if not 1 <= args.validators <= 32:
        raise ValueError("--validators must be 1..32")
    net = Testnet.create(
        args.dir, args.validators, chain_id=args.chain_id, base_port=args.base_port
    )
    for val in net.validators:
        print(f"node{val.index}: {val.home}  API {val.api_url}  RPC {val.rpc_url}")
    if args.no_start:
        return 0
    net.start()
    print(f"{args.validators} validators running; Ctrl-C stops them", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        while True:
            time.sleep(1)
            for event in net.supervise():
                print(f"qosd testnet: {event}", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        net.stop()
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from host.chain.app import Application
    from host.chain.homelock import HomeLock

    path = args.home / "data" / "app.db"
    if not path.exists():
        raise FileNotFoundError(f"no state at {path}")
    lock = HomeLock(args.home)  # a running node would change the state under the dump
    lock.acquire()
    try:
        app = Application(path)
        info = app.info()
        state = {key.hex(): value.hex() for key, value in app.store.iterate(b"")}
    finally:
        lock.release()
    doc = {
        "chain_id": info.chain_id,
        "height": info.last_height,
        "app_hash": info.last_app_hash.hex(),
        "state": state,
    }
    text = json.dumps(doc, indent=1, sort_keys=True)
    if args.out:
        args.out.write_text(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
