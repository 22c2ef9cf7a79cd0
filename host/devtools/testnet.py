"""A local multi-validator CometBFT network on loopback: configs, processes, perturbations.

Each validator i is two processes: the QOS app (`qosd start`, ABCI server + API) and `cometbft
node`, with ports base + 10*i + {6: p2p, 7: rpc, 8: abci, 9: api}. The Testnet object starts,
kills (SIGKILL), pauses (SIGSTOP/SIGCONT) and restarts validators; `qosd testnet` and the e2e test
both use it.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from host.devtools import ports

if TYPE_CHECKING:
    from host.chain.engine.privval import ValidatorKey

FAST_CONSENSUS = {
    "timeout_propose": "1s",
    "timeout_propose_delta": "200ms",
    "timeout_prevote": "300ms",
    "timeout_prevote_delta": "100ms",
    "timeout_precommit": "300ms",
    "timeout_precommit_delta": "100ms",
    "timeout_commit": "300ms",
}

# broadcast_tx_sync calls per JSON-RPC batch from a node to its CometBFT (POST /txs/batch):
# CometBFT's default of 10 costs an HTTP round trip per 10 txs. 100 of the largest txs (12 KiB,
# 16 KiB in base64) need a 2 MB request body, above CometBFT's default max_body_bytes (1 MB).
RPC_BATCH = 100
RPC_MAX_BODY = 2_000_000


def cometbft_binary() -> str | None:
    """The cometbft binary: $COMETBFT, the venv's bin, then PATH."""
    env = os.environ.get("COMETBFT")
    if env and Path(env).is_file():
        return env
    beside = Path(sys.executable).parent / "cometbft"
    if beside.is_file():
        return str(beside)
    return shutil.which("cometbft")


@dataclass
class Ports:
    base: int
    index: int

    def _p(self, offset: int) -> int:
        return self.base + 10 * self.index + offset

    @property
    def p2p(self) -> int:
        return self._p(6)

    @property
    def rpc(self) -> int:
        return self._p(7)

    @property
    def abci(self) -> int:
        return self._p(8)

    @property
    def api(self) -> int:
        return self._p(9)


@dataclass
class Validator:
    index: int
    home: Path
    ports: Ports
    node_id: str = ""
    app: subprocess.Popen | None = None
    comet: subprocess.Popen | None = None
    paused: bool = False
    restarts: int = 0  # crashes brought back by Testnet.supervise

    @property
    def comet_home(self) -> Path:
        return self.home / "cometbft"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.api}"

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.rpc}"


def set_toml(text: str, section: str, key: str, value: str) -> str:
    """Replace `key = ...` inside [section] of a CometBFT config.toml (section "" = top)."""
    start = 0
    if section:
        match = re.search(rf"^\[{re.escape(section)}\]\s*$", text, re.M)
        if match is None:
            raise ValueError(f"config.toml has no [{section}]")
        start = match.end()
    following = re.search(r"^\[", text[start:], re.M)
    end = start + following.start() if following else len(text)
    pattern = re.compile(rf"^{re.escape(key)}\s*=.*$", re.M)
    body, count = pattern.subn(f"{key} = {value}", text[start:end], count=1)
    if count == 0:
        raise ValueError(f"config.toml [{section}] has no {key}")
    return text[:start] + body + text[end:]


@dataclass
class Testnet:
    root: Path
    validators: list[Validator] = field(default_factory=list)
    chain_id: str = "qos-testnet"
    builtin_app: str = ""  # e.g. "kvstore": CometBFT runs its own app, no qosd (a reference)

    # ---- configuration ----------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        root: Path | str,
        count: int = 4,
        chain_id: str = "qos-testnet",
        base_port: int = 26600,
        accounts: list[tuple[bytes, int]] | None = None,
        consensus: dict[str, str] | None = None,
        peer_address: Callable[[int, int], str] | None = None,
        genesis_params: dict | None = None,
    ) -> Testnet:
        """Write `count` validator homes under root. peer_address(i, j) -> "host:port" is where
        validator i dials validator j (default: j's p2p port; a test may put a proxy there)."""
        from host.chain.genesis import Genesis, GenesisAccount, GenesisValidator
        from host.chain.node import NodeConfig
        from host.devtools.keyfile import new_account, save_key

        net, keys = cls._init_homes(root, count, base_port, chain_id=chain_id)
        operators = []
        for val in net.validators:
            operator = new_account()
            save_key(val.home / "config" / "operator_key.json", operator)
            operators.append(operator)
            NodeConfig(
                chain_id=chain_id,
                engine="cometbft",
                api_listen=f"127.0.0.1:{val.ports.api}",
                abci_listen=f"tcp://127.0.0.1:{val.ports.abci}",
                cometbft_rpc=val.rpc_url,
                cometbft_rpc_batch=RPC_BATCH,
            ).save(val.home / "config" / "node.toml")
        bond = 1_000_000 * 10_000
        genesis = Genesis(
            chain_id=chain_id,
            genesis_time=time.time(),
            accounts=[GenesisAccount(op.address, 2 * bond) for op in operators]
            + [GenesisAccount(addr, amount) for addr, amount in accounts or []],
            validators=[
                GenesisValidator(op.address, key.pubkey, bond, f"node{i}")
                for i, (op, key) in enumerate(zip(operators, keys, strict=True))
            ],
            params=genesis_params or {},
        )
        genesis.validate()
        powers = _genesis_powers(genesis)
        net._write_genesis(_comet_genesis(net, genesis.to_json(), keys, powers), consensus,
                           peer_address)
        return net

    @classmethod
    def _init_homes(
        cls, root: Path | str, count: int, base_port: int, **fields: Any
    ) -> tuple[Testnet, list[ValidatorKey]]:
        """`cometbft init` for `count` validator homes under an empty root; their keys."""
        from host.chain.engine.privval import ValidatorKey

        binary = cometbft_binary()
        if binary is None:
            raise RuntimeError("cometbft not found (make setup installs it with go install)")
        root = Path(root)
        if root.exists() and any(root.iterdir()):
            raise FileExistsError(f"{root} is not empty")
        net = cls(root, **fields)
        for i in range(count):
            val = Validator(i, root / f"node{i}", Ports(base_port, i))
            subprocess.run([binary, "init", "--home", str(val.comet_home)], check=True,
                           capture_output=True)
            val.node_id = _node_id(val.comet_home / "config" / "node_key.json")
            net.validators.append(val)
        keys = [ValidatorKey.load(v.comet_home / "config" / "priv_validator_key.json")
                for v in net.validators]
        return net, keys

    def _write_genesis(self, genesis: dict, consensus: dict[str, str] | None,
                       peer_address: Callable | None) -> None:
        """The same genesis in every home (CometBFT's, and the app's unless CometBFT runs its
        own app), and each validator's CometBFT config."""
        text = json.dumps(genesis, indent=2)
        for val in self.validators:
            (val.comet_home / "config" / "genesis.json").write_text(text)
            if not self.builtin_app:
                (val.home / "config" / "genesis.json").write_text(text)
            self._write_config(val, consensus or FAST_CONSENSUS, peer_address)

    def _write_config(
        self, val: Validator, consensus: dict[str, str], peer_address: Callable | None
    ) -> None:
        path = val.comet_home / "config" / "config.toml"
        text = path.read_text()
        peers = ",".join(
            f"{other.node_id}@"
            + (
                peer_address(val.index, other.index)
                if peer_address
                else f"127.0.0.1:{other.ports.p2p}"
            )
            for other in self.validators
            if other is not val
        )
        proxy_app = self.builtin_app or f"tcp://127.0.0.1:{val.ports.abci}"
        settings = [
            ("", "moniker", f'"node{val.index}"'),
            ("", "proxy_app", f'"{proxy_app}"'),
            ("", "log_level", '"info"'),
            ("rpc", "laddr", f'"tcp://127.0.0.1:{val.ports.rpc}"'),
            ("rpc", "timeout_broadcast_tx_commit", '"30s"'),
            ("rpc", "max_request_batch_size", str(RPC_BATCH)),
            ("rpc", "max_body_bytes", str(RPC_MAX_BODY)),
            ("p2p", "laddr", f'"tcp://127.0.0.1:{val.ports.p2p}"'),
            ("p2p", "persistent_peers", f'"{peers}"'),
            ("p2p", "pex", "false"),
            ("p2p", "addr_book_strict", "false"),
            ("p2p", "allow_duplicate_ip", "true"),
            ("p2p", "dial_timeout", '"1s"'),
            ("p2p", "handshake_timeout", '"5s"'),
            ("p2p", "persistent_peers_max_dial_period", '"2s"'),
            ("mempool", "size", "20000"),
            ("instrumentation", "prometheus", "false"),
        ]
        if not self.builtin_app:
            # qosd keeps every tx and its result (GET /txs/{hash}, the explorer's index):
            # CometBFT's own tx index and its store of each block's ABCI results would only
            # write the same again (docs/consensus.md)
            settings.append(("tx_index", "indexer", '"null"'))
            settings.append(("storage", "discard_abci_responses", "true"))
        settings += [("consensus", k, f'"{v}"') for k, v in consensus.items()]
        for section, key, value in settings:
            text = set_toml(text, section, key, value)
        path.write_text(text)

    @classmethod
    def create_builtin(
        cls,
        root: Path | str,
        count: int = 4,
        app: str = "kvstore",
        chain_id: str = "kvstore-reference",
        base_port: int = 26600,
        consensus: dict[str, str] | None = None,
    ) -> Testnet:
        """The same topology and CometBFT settings with CometBFT's built-in `app` (kvstore) in
        place of qosd: the reference the QOS network's throughput is measured against."""
        net, keys = cls._init_homes(root, count, base_port, chain_id=chain_id, builtin_app=app)
        genesis = _comet_genesis(net, {}, keys, {key.pubkey: 10 for key in keys})
        del genesis["app_state"]
        net._write_genesis(genesis, consensus, None)
        return net

    @classmethod
    def load(cls, root: Path | str) -> Testnet:
        from host.chain.node import NodeConfig

        root = Path(root)
        homes = sorted(root.glob("node*"), key=lambda p: int(p.name[4:]))
        if not homes:
            raise FileNotFoundError(f"no node* homes under {root}")
        net = cls(root)
        for i, home in enumerate(homes):
            config = NodeConfig.load(home / "config" / "node.toml")
            base = int(config.api_listen.rpartition(":")[2]) - 10 * i - 9
            net.chain_id = config.chain_id
            val = Validator(i, home, Ports(base, i))
            val.node_id = _node_id(val.comet_home / "config" / "node_key.json")
            net.validators.append(val)
        return net

    # ---- processes ------------------------------------------------------------------------------
    def start(self, timeout: float = 60.0) -> None:
        for val in self.validators:
            self.start_validator(val.index, wait=False)
        for val in self.validators:
            self._wait_up(val, timeout)

    def _wait_up(self, val: Validator, timeout: float) -> None:
        # CometBFT's RPC, and the node's API in front of it: the API answers /status before
        # CometBFT listens, and a tx sent then is refused "engine unavailable" (a test did so).
        _wait_http(val.rpc_url + "/status", timeout)
        if not self.builtin_app:
            _wait_http(val.api_url + "/status", timeout)

    def start_validator(self, index: int, wait: bool = True, timeout: float = 60.0) -> None:
        val = self.validators[index]
        if not self.builtin_app and (val.app is None or val.app.poll() is not None):
            log = open(val.home / "app.log", "ab")  # noqa: SIM115 - owned by the child
            val.app = subprocess.Popen(
                [sys.executable, "-m", "host.cli.qosd", "start", "--home", str(val.home)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            log.close()
            _wait_port(val.ports.abci, timeout, val.app, val.home / "app.log")
        if val.comet is None or val.comet.poll() is not None:
            log = open(val.home / "cometbft.log", "ab")  # noqa: SIM115
            val.comet = subprocess.Popen(
                [cometbft_binary() or "cometbft", "node", "--home", str(val.comet_home)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            log.close()
        val.paused = False
        if wait:
            self._wait_up(val, timeout)

    def supervise(self, max_restarts: int = 5) -> list[str]:
        """Restart each validator whose app or CometBFT process exited (at most `max_restarts`
        times each, so a node that cannot start does not loop forever); returns what it did."""
        events = []
        for val in self.validators:
            crashed = [p for p in (val.app, val.comet) if p is not None and p.poll() is not None]
            if not crashed or val.paused:
                continue
            if val.restarts >= max_restarts:
                if val.app is not None or val.comet is not None:
                    events.append(f"node{val.index}: crashed {val.restarts + 1} times; left down")
                    self.kill(val.index)
                continue
            val.restarts += 1
            codes = ", ".join(str(p.returncode) for p in crashed)
            events.append(f"node{val.index}: exited ({codes}); restart {val.restarts}")
            try:
                self.start_validator(val.index, wait=False)
            except (RuntimeError, TimeoutError, OSError) as exc:
                events.append(f"node{val.index}: restart failed: {exc}")
        return events

    def kill(self, index: int) -> None:
        """kill -9 both processes of a validator (a crash: nothing is flushed or closed)."""
        val = self.validators[index]
        for proc in (val.comet, val.app):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
        val.comet = val.app = None

    def pause(self, index: int) -> None:
        val = self.validators[index]
        for proc in (val.comet, val.app):
            if proc is not None:
                proc.send_signal(signal.SIGSTOP)
        val.paused = True

    def resume(self, index: int) -> None:
        val = self.validators[index]
        for proc in (val.app, val.comet):
            if proc is not None:
                proc.send_signal(signal.SIGCONT)
        val.paused = False

    def stop(self) -> None:
        for val in self.validators:
            if val.paused:
                self.resume(val.index)
            for proc in (val.comet, val.app):
                if proc is not None and proc.poll() is None:
                    proc.terminate()
            for proc in (val.comet, val.app):
                if proc is not None:
                    try:
                        proc.wait(15)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()
            val.comet = val.app = None


def _node_id(node_key: Path) -> str:
    """CometBFT's p2p node ID: hex of the first 20 bytes of SHA-256(node public key)."""
    from host.chain.engine.privval import cons_address

    priv = base64.b64decode(json.loads(node_key.read_text())["priv_key"]["value"])
    return cons_address(priv[32:]).hex()


def _genesis_powers(genesis) -> dict[bytes, int]:
    """The powers the app will return from InitChain, so CometBFT's genesis set matches it."""
    from host.chain.app import Application

    return {v.pubkey: v.power for v in Application(None).init_chain(genesis).validators}


def _comet_genesis(net: Testnet, app_state: dict, keys: list, powers: dict) -> dict:
    now = datetime.datetime.now(datetime.UTC)
    genesis_path = net.validators[0].comet_home / "config" / "genesis.json"
    template = json.loads(genesis_path.read_text())
    app_state = dict(app_state)
    app_state["genesis_time"] = now.timestamp()
    return {
        "genesis_time": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "chain_id": net.chain_id,
        "initial_height": "1",
        "consensus_params": template["consensus_params"],
        "validators": [
            {
                "address": key.address.hex().upper(),
                "pub_key": {
                    "type": "tendermint/PubKeyEd25519",
                    "value": base64.b64encode(key.pubkey).decode(),
                },
                "power": str(powers.get(key.pubkey, 0)),
                "name": f"node{i}",
            }
            for i, key in enumerate(keys)
            if powers.get(key.pubkey)
        ],
        "app_hash": "",
        "app_state": app_state,
    }


def free_base_port(count: int = 4) -> int:
    """A base port whose base .. base+10*count+9 ports are all free on loopback right now."""
    return ports.free_block(10 * count + 10)


def _wait_port(
    port: int, timeout: float, proc: subprocess.Popen | None = None, log: Path | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace")[-1500:] if log and log.exists() else ""
            raise RuntimeError(
                f"process exited with {proc.returncode} before port {port} opened\n{tail}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout:.0f} s")


def _wait_http(url: str, timeout: float) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} not answering after {timeout:.0f} s")
        time.sleep(0.2)
