"""`qosd`: create, run and export a QOS node; start a local CometBFT testnet.

qosd init [--home DIR] [--chain-id ID] [--account ADDR=UNITS ...] a one-validator solo node
qosd start [--home DIR]                                           run it (solo or cometbft)
qosd testnet --validators 4 --dir DIR                             a loopback CometBFT network
qosd export --home DIR [--out FILE]                               the committed state as JSON
qosd init --home DIR --from-export FILE --validator-key KEY      continue that state in a new home
qosd join --home DIR --chain-id ID --base URL --key FILE         a business chain that registers
                                                                  itself on a running base chain
--home defaults to $QOSD_HOME, else ~/.qosd.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

REGISTER_FEE_LIMIT = 20_000  # units; the base chain charges its qcp/register fee (1000 today)


def _home_arg(cmd: argparse.ArgumentParser) -> None:
    default = Path(os.environ.get("QOSD_HOME") or Path.home() / ".qosd")
    cmd.add_argument("--home", type=Path, default=default,
                     help=f"the node's home (default $QOSD_HOME, else ~/.qosd: now {default})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qosd", description=__doc__.splitlines()[0])
    parser.add_argument("--log-level", default="INFO", help="DEBUG | INFO | WARNING | ERROR")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = sub.add_parser("init", help="create a solo node home (keys, genesis, config)")
    _home_arg(init)
    init.add_argument("--chain-id", default=None, help="default qos-local")
    init.add_argument("--block-interval", type=float, default=3.0, help="seconds (default 3)")
    init.add_argument("--api", default="127.0.0.1:1317", help="API listen HOST:PORT")
    init.add_argument(
        "--account",
        action="append",
        default=[],
        metavar="ADDR=UNITS",
        help="a genesis balance (repeatable); 1 QOS = 10^4 units",
    )
    init.add_argument("--from-export", type=Path, default=None, metavar="FILE",
                      help="continue the chain `qosd export` wrote, at the same app hash")
    init.add_argument("--validator-key", type=Path, default=None, metavar="KEY",
                      help="with --from-export: the priv_validator_key.json of the exported node")
    init.set_defaults(func=cmd_init)

    start = sub.add_parser("start", help="run the node in the foreground")
    _home_arg(start)
    start.set_defaults(func=cmd_start)

    testnet = sub.add_parser("testnet", help="write and start a local CometBFT network")
    testnet.add_argument("--validators", type=int, default=4)
    testnet.add_argument("--dir", required=True, type=Path, help="where the homes go")
    testnet.add_argument("--chain-id", default="qos-testnet")
    testnet.add_argument("--base-port", type=int, default=26600, help="ports base+10*i+6..9")
    testnet.add_argument("--no-start", action="store_true", help="only write the configs")
    testnet.set_defaults(func=cmd_testnet)

    join = sub.add_parser(
        "join", help="create (once) and run a business chain that registers itself for QCP on "
        "a running base chain, by a qcp/register tx with a deposit")
    _home_arg(join)
    join.add_argument("--chain-id", required=True, help="the business chain's id")
    join.add_argument("--base", required=True, metavar="URL", help="the base chain's API URL")
    join.add_argument("--key", required=True, type=Path,
                      help="local key file of the base-chain account that pays the deposit")
    join.add_argument("--deposit", type=int, default=None, metavar="UNITS",
                      help="registration deposit (default and minimum: 1000 QOS)")
    join.add_argument("--block-interval", type=float, default=3.0, help="seconds (default 3)")
    join.add_argument("--api", default="127.0.0.1:1317", help="API listen HOST:PORT")
    join.add_argument("--account", action="append", default=[], metavar="ADDR=UNITS",
                      help="a genesis balance on the business chain (repeatable)")
    join.add_argument("--no-start", action="store_true", help="register, but do not run it")
    join.set_defaults(func=cmd_join)

    export = sub.add_parser("export", help="dump the committed state (stop the node first)")
    _home_arg(export)
    export.add_argument("--out", type=Path, default=None)
    export.set_defaults(func=cmd_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "start":  # the long-running node; one-shot commands need no speed
        _load_compiled_modules()
    from host.chain.upgrade import HALT_EXIT_CODE, UpgradeNeeded

    try:
        return args.func(args) or 0
    except KeyboardInterrupt:
        return 130
    except UpgradeNeeded as exc:  # the chain stopped for a governance upgrade plan
        print(f"qosd: halted: {exc}", file=sys.stderr)
        return HALT_EXIT_CODE
    except (ValueError, FileExistsError, FileNotFoundError) as exc:  # bad input: nothing changed
        print(f"qosd: error: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:  # the node, its home or another chain refused or failed
        print(f"qosd: error: {exc}", file=sys.stderr)
        return 1


def _load_compiled_modules() -> None:
    """The compiled modules (host/chain/native.py) unless QOSD_PURE_PYTHON is set: first thing."""
    from host.chain import native

    reason = "QOSD_PURE_PYTHON is set" if os.environ.get("QOSD_PURE_PYTHON") else native.enable()
    logging.getLogger("qosd").info(
        "compiled modules: %s", f"off: {reason}" if reason else f"on ({native.NATIVE_DIR})")


def _parse_account(text: str) -> tuple[bytes, int]:
    from host.core.keys import decode_address

    addr, sep, units = text.partition("=")
    if not sep or not units.isdigit():
        raise ValueError(f"--account {text!r}: expected qosacc1...=UNITS")
    return decode_address(addr), int(units)


def cmd_init(args: argparse.Namespace) -> int:
    home: Path = args.home
    if (home / "config").exists():
        raise FileExistsError(f"{home}/config exists; refusing to overwrite a node")
    if args.from_export is not None:
        return _init_from_export(args)
    if args.validator_key is not None:
        raise ValueError("--validator-key goes with --from-export")
    args.chain_id = args.chain_id or "qos-local"
    _new_home(args, [])
    return 0


def _new_home(args: argparse.Namespace, chains: list) -> None:
    """A one-validator solo node home for args.chain_id, registering `chains` for QCP."""
    from host.chain.engine.privval import ValidatorKey
    from host.chain.genesis import Genesis, GenesisAccount, GenesisValidator
    from host.chain.node import NodeConfig
    from host.devtools.keyfile import new_account, save_key

    home: Path = args.home
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
        chains=chains,
    )
    genesis.validate()
    config.save(home / "config" / "node.toml")
    key.save(home / "config" / "priv_validator_key.json")
    save_key(home / "config" / "operator_key.json", operator)
    genesis.save(home / "config" / "genesis.json")
    print(f"initialised {args.chain_id} in {home}")
    print(f"  validator {key.address.hex()}  operator {operator.address_string}")
    print(f"  operator key file: {home / 'config' / 'operator_key.json'}")


def _init_from_export(args: argparse.Namespace) -> int:
    from host.chain.export import import_home, load_export
    from host.chain.node import NodeConfig

    if args.account:
        raise ValueError("--account cannot change an exported state")
    if args.validator_key is None:
        raise ValueError("--from-export needs --validator-key (the exported node's "
                         "config/priv_validator_key.json): the solo engine signs with it")
    doc = load_export(args.from_export)
    if args.chain_id is not None and args.chain_id != doc.get("chain_id"):
        raise ValueError(f"--chain-id {args.chain_id} differs from the export's chain id")

    def write_config(tmp: Path, chain_id: str) -> None:
        config = NodeConfig(
            chain_id=chain_id, block_interval=args.block_interval, api_listen=args.api
        )
        config.validate()
        config.save(tmp / "config" / "node.toml")

    done = import_home(args.home, doc, args.validator_key, write_config)
    print(f"imported {done.chain_id} at height {done.height} (app hash {done.app_hash.hex()}) "
          f"into {args.home}; the next block is {done.height + 1}")
    return 0


def cmd_start(args: argparse.Namespace) -> int:
    import asyncio

    from host.chain.node import run

    asyncio.run(run(args.home))
    return 0


def cmd_join(args: argparse.Namespace) -> int:
    """Create the business chain's home (first run: the base chain's validators registered in
    its genesis), register it on the base chain unless it already is (with its validator key),
    print its chain number and run it. A failed registration removes the home it created."""
    import shutil

    from host.chain.engine.privval import ValidatorKey
    from host.chain.genesis import GenesisChain
    from host.chain.rest import BlockingNodeClient
    from host.chain.x.qcp.client import REGISTER_DEPOSIT
    from host.devtools.keyfile import load_key

    payer = load_key(args.key)
    deposit = REGISTER_DEPOSIT if args.deposit is None else args.deposit
    if deposit < REGISTER_DEPOSIT:  # refused here, before the base chain charges a fee for it
        raise ValueError(f"--deposit {deposit} is below the minimum {REGISTER_DEPOSIT} units")
    with BlockingNodeClient(args.base) as base:
        base_id = base.chain_id()
        if base_id == args.chain_id:
            raise ValueError(f"--chain-id {args.chain_id} is the base chain's own id")
        client = base.call(lambda c: c.qcp_client(args.chain_id))
        created = not (args.home / "config").exists()
        if created:
            if client is not None:
                raise ValueError(f"{args.chain_id} is already registered on {base_id} (number "
                                 f"{client['number']}) with other keys: choose another id")
            _new_home(args, [GenesisChain(base_id, _validators(base))])
        key = ValidatorKey.load(args.home / "config" / "priv_validator_key.json")
        _check_home(args.home, args.chain_id, base_id)
        if client is None:
            try:
                client = _register(base, args.chain_id, key.pubkey, payer, deposit)
            except BaseException:
                if created:
                    shutil.rmtree(args.home)
                raise
        elif key.pubkey not in dict(client["validators"]):
            raise ValueError(f"{args.chain_id} is registered on {base_id} with other validator "
                             f"keys than {args.home}'s")
    print(f"{args.chain_id} is QCP chain number {client['number']} on {base_id}", flush=True)
    if args.no_start:
        return 0
    return cmd_start(args)


def _validators(base) -> list[tuple[bytes, int]]:
    """The base chain's consensus validators, as its node reports them (trusted on first use,
    like any genesis registration; the client then follows the proven set)."""
    status, doc = base.get("/validators")
    if status != 200:
        raise RuntimeError(f"{base.url}/validators: HTTP {status}: {doc.get('error', doc)}")
    return [(bytes.fromhex(v["pubkey"]), int(v["power"])) for v in doc["validators"]]


def _check_home(home: Path, chain_id: str, base_id: str) -> None:
    from host.chain.genesis import Genesis

    genesis = Genesis.load(home / "config" / "genesis.json")
    if genesis.chain_id != chain_id:
        raise ValueError(f"{home} holds chain {genesis.chain_id}, not {chain_id}")
    if base_id not in {c.chain_id for c in genesis.chains}:
        raise ValueError(f"{home}'s genesis does not register {base_id} for QCP")


def _register(base, chain_id: str, pubkey: bytes, payer, deposit: int) -> dict:
    """qcp/register on the base chain, signed by `payer`; the new client."""
    from host.core import cbor
    from host.core.tx import SignedTx, Tx, qcp_register

    # any power will do: the client adopts the chain's proven set at its first update
    message = qcp_register(chain_id, cbor.dumps([[pubkey, 1]]), deposit)
    tx = Tx(base.chain_id(), base.next_nonce(payer.address), REGISTER_FEE_LIMIT, (message,),
            f"register {chain_id}")
    raw = SignedTx(tx, payer.pubkey, payer.sign(tx.sign_bytes())).encode()
    status, doc = base.call(lambda c: c.submit(raw))
    if status != 200 or doc.get("code") != 0:
        why = doc.get("error") or f"{doc.get('codespace')}: {doc.get('log')}"
        raise RuntimeError(f"registering {chain_id} on {base.url} failed: {why}")
    client = base.call(lambda c: c.qcp_client(chain_id))
    if client is None:
        raise RuntimeError(f"{base.url} committed the registration but has no client of "
                           f"{chain_id}")
    return client


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
    from host.chain.export import export_home
    from host.chain.homelock import HomeLock

    path = args.home / "data" / "app.db"
    if not path.exists():
        raise FileNotFoundError(f"no state at {path}")
    lock = HomeLock(args.home)  # a running node would change the state under the dump
    lock.acquire()
    try:
        doc = export_home(args.home)
    finally:
        lock.release()
    text = json.dumps(doc, indent=1, sort_keys=True)
    if args.out:  # whole or not at all: a cut-short file would only fail the import later
        partial = args.out.with_name(f".{args.out.name}.partial")
        partial.write_text(text + "\n")
        partial.replace(args.out)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
