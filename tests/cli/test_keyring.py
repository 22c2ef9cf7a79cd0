"""The host keyring (host/core/keyring.py) and `qos keys`: an attacker who gets the file learns no
seed, a wrong passphrase or an edited file opens nothing, and every refusal changes nothing."""

from __future__ import annotations

import io
import json

import pytest

from host.cli.qos import main
from host.core.keyring import Keyring, KeyringError, Secret
from host.core.keys import Account

WORDS = "abandon " * 11 + "about"
PASS = "correct horse battery staple"


@pytest.fixture
def ring(tmp_path) -> Keyring:
    return Keyring(tmp_path / "keyring")


@pytest.fixture
def alice() -> Secret:
    return Secret(Account.from_mnemonic(WORDS), WORDS)


def test_the_file_holds_no_secret_in_any_form(ring, alice):
    ring.add("alice", alice, PASS)
    raw = ring.path_of("alice").read_bytes()
    seed = bytes(alice.account.signing_key)
    for form in (seed, seed.hex().encode(), seed.hex().upper().encode(), b"abandon",
                 PASS.encode()):
        assert form not in raw
    assert ring.path_of("alice").stat().st_mode & 0o077 == 0
    assert ring.open("alice", PASS).account.pubkey == alice.account.pubkey
    assert ring.open("alice", PASS).mnemonic == WORDS


def test_a_wrong_passphrase_opens_nothing(ring, alice):
    ring.add("alice", alice, PASS)
    for wrong in ("", "correct horse battery stapl", PASS + " "):
        with pytest.raises(KeyringError, match="wrong passphrase"):
            ring.open("alice", wrong)


@pytest.mark.parametrize("field", ["address", "pubkey", "ciphertext", "nonce", "kdf"])
def test_an_edited_file_is_refused(ring, alice, field):
    """An attacker who can write the file but not read the passphrase cannot make it show (and
    so receive funds at) an address of theirs, nor flip sealed bits unnoticed."""
    ring.add("alice", alice, PASS)
    path = ring.path_of("alice")
    doc = json.loads(path.read_text())
    other = Account.from_mnemonic(WORDS, "", 0, 1)
    doc[field] = {"address": other.address_string, "pubkey": other.pubkey.hex(),
                  "ciphertext": doc["ciphertext"][:-2] + ("00" if doc["ciphertext"][-2:] != "00"
                                                          else "01"),
                  "nonce": "00" * 12,
                  "kdf": {**doc["kdf"], "n": 1 << 14}}[field]
    path.write_text(json.dumps(doc))
    with pytest.raises(KeyringError):
        ring.open("alice", PASS)


def test_kdf_parameters_from_the_file_are_bounded(ring, alice):
    """A file asking for a huge scrypt cost (memory exhaustion) or none at all is refused."""
    ring.add("alice", alice, PASS)
    path = ring.path_of("alice")
    for n in (1 << 30, 2, 12345):
        doc = json.loads(path.read_text())
        doc["kdf"]["n"] = n
        path.write_text(json.dumps(doc))
        with pytest.raises(KeyringError, match="KDF"):
            ring.open("alice", PASS)


def test_names_add_list_delete(ring, alice):
    with pytest.raises(KeyringError):
        ring.add("../evil", alice, PASS)
    with pytest.raises(KeyringError):
        ring.add("alice", alice, "")
    assert ring.list() == []
    ring.add("alice", alice, PASS)
    before = ring.path_of("alice").read_bytes()
    with pytest.raises(KeyringError, match="exists"):
        ring.add("alice", Secret(Account.from_mnemonic(WORDS, "", 1, 0), None), PASS)
    assert ring.path_of("alice").read_bytes() == before  # never replaced
    assert [p.name for p in ring.directory.iterdir()] == ["alice.json"]  # no temporary left
    assert [k.name for k in ring.list()] == ["alice"]
    ring.delete("alice")
    assert ring.list() == []
    with pytest.raises(KeyringError, match="no key"):
        ring.delete("alice")


def test_a_copied_file_under_another_name_is_refused(ring, alice):
    ring.add("alice", alice, PASS)
    ring.path_of("mallory").write_bytes(ring.path_of("alice").read_bytes())
    with pytest.raises(KeyringError, match="holds key"):
        ring.open("mallory", PASS)


# ---- the command line ------------------------------------------------------------------------


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("QOS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("QOS_KEYRING_PASSPHRASE", PASS)
    return tmp_path / "home"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_keys_commands(home, tmp_path, capsys, monkeypatch):
    words = tmp_path / "words"
    words.write_text(WORDS)
    address = Account.from_mnemonic(WORDS).address_string
    code, out, _ = run(capsys, "keys", "add", "alice", "--mnemonic-file", str(words), "--json")
    assert code == 0 and json.loads(out)["address"] == address
    assert run(capsys, "keys", "add", "alice", "--mnemonic-file", str(words))[0] == 2
    code, out, _ = run(capsys, "keys", "add", "bob", "--json")  # a new mnemonic, shown once
    bob = json.loads(out)
    assert code == 0 and Account.from_mnemonic(bob["mnemonic"]).address_string == bob["address"]
    code, out, _ = run(capsys, "keys", "list", "--json")
    assert [k["name"] for k in json.loads(out)] == ["alice", "bob"]
    code, out, _ = run(capsys, "keys", "list")
    assert "alice" in out and address in out
    code, out, _ = run(capsys, "keys", "show", "alice")
    assert code == 0 and address in out
    pubkey = Account.from_mnemonic(WORDS).pubkey_string
    assert run(capsys, "keys", "show", "alice", "-p")[1] == pubkey + "\n"
    assert run(capsys, "keys", "list", "-n")[1] == "alice\nbob\n"
    assert run(capsys, "keys", "export", "alice")[1].strip() == WORDS
    bad_words = tmp_path / "bad"
    bad_words.write_text("abandon " * 12)
    assert run(capsys, "keys", "add", "carol", "--mnemonic-file", str(bad_words))[0] == 2
    monkeypatch.setenv("QOS_KEYRING_PASSPHRASE", "wrong")
    code, _, err = run(capsys, "keys", "delete", "alice")
    assert code == 2 and "wrong passphrase" in err
    assert run(capsys, "keys", "export", "alice")[0] == 2
    monkeypatch.setenv("QOS_KEYRING_PASSPHRASE", PASS)
    assert run(capsys, "keys", "delete", "alice")[0] == 0
    assert run(capsys, "keys", "show", "alice")[0] == 2
    # a path is an unencrypted test key file, and says so
    code, _, err = run(capsys, "keys", "add", str(tmp_path / "t.json"))
    assert code == 0 and "UNENCRYPTED" in err


def test_tx_signs_with_a_keyring_key_generate_sign_broadcast_files(home, tmp_path, capsys):
    """--generate-only needs no passphrase; `tx sign` of that file gives what --dry-run gives."""
    from host.core.tx import SignedTx, Tx

    words = tmp_path / "words"
    words.write_text(WORDS)
    assert run(capsys, "keys", "add", "alice", "--mnemonic-file", str(words))[0] == 0
    to = Account.from_mnemonic(WORDS, "", 0, 1).address_string
    common = ["--chain-id", "qos-test", "--nonce", "1", "--fee", "1000"]
    code, out, _ = run(capsys, "tx", "bank", "send", to, "1.5qos", "--from", "alice", *common,
                       "--dry-run")
    assert code == 0
    dry = json.loads(out)
    signed = SignedTx.decode(bytes.fromhex(dry["signed_tx"]))
    assert signed.verify() and signed.tx.msgs[0]["amount"] == 15_000
    # the flat alias builds the same tx
    assert json.loads(run(capsys, "tx", "transfer", to, "1.5qos", "--from", "alice", *common,
                          "--dry-run")[1]) == dry
    unsigned_file = tmp_path / "unsigned.json"
    code, out, _ = run(capsys, "tx", "bank", "send", to, "1.5qos", "--from", "alice", *common,
                       "--generate-only")
    assert code == 0 and "\"signed_tx\"" not in out
    unsigned_file.write_text(out)
    assert Tx.decode(bytes.fromhex(json.loads(out)["unsigned_tx"])) == signed.tx
    code, out, _ = run(capsys, "tx", "sign", str(unsigned_file), "--from", "alice")
    assert code == 0 and json.loads(out)["signed_tx"] == dry["signed_tx"]  # ed25519 is determ.
    # broadcast refuses a file whose signature was tampered with, before any node is asked
    bad = dict(dry, signed_tx=dry["signed_tx"][:-2] + ("00" if dry["signed_tx"][-2:] != "00"
                                                       else "01"))
    bad_file = tmp_path / "bad.json"
    bad_file.write_text(json.dumps(bad))
    code, _, err = run(capsys, "tx", "broadcast", str(bad_file), "--node", "http://127.0.0.1:9")
    assert code == 2 and "signature" in err
    assert run(capsys, "tx", "sign", str(tmp_path / "missing.json"), "--from", "alice")[0] == 2


def test_tx_bad_input_exits_2_and_sends_nothing(home, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("QOS_DEVICE", raising=False)
    key = tmp_path / "k.json"
    assert run(capsys, "keys", "add", str(key))[0] == 0
    to = Account.from_mnemonic(WORDS).address_string
    offline = ["--chain-id", "qos-test", "--nonce", "1", "--fee", "1", "--node",
               "http://127.0.0.1:9"]
    for argv in (["bank", "send", to, "lots"], ["bank", "send", "qosacc1nope", "1"],
                 ["qsc", "pause", "STAR", "maybe"], ["staking", "delegate", to, "1.23456qos"]):
        code, out, err = run(capsys, "tx", *argv, "--key", str(key), *offline)
        assert code == 2 and out == "" and err.strip(), argv
    code, _, err = run(capsys, "tx", "bank", "send", to, "1", *offline)
    assert code == 2 and "who signs" in err


def test_every_message_type_has_a_command():
    """A message type the chain accepts and `qos tx` cannot build is a gap: one line in
    host/cli/tx.py COMMANDS closes it."""
    from host.cli.tx import COMMANDS
    from host.core.tx import MESSAGES

    assert {c.msg_type for c in COMMANDS} == set(MESSAGES)
    assert len({c.words for c in COMMANDS}) == len(COMMANDS)


def test_version_and_node_from_the_environment(home, capsys, monkeypatch):
    from host.cli import config

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.startswith("qos ")
    monkeypatch.delenv("QOS_NODE", raising=False)
    assert config.default_node() == config.DEFAULT_NODE
    home.mkdir(parents=True, exist_ok=True)
    (home / "client.toml").write_text('node = "http://10.0.0.1:1317"\n')
    assert config.default_node() == "http://10.0.0.1:1317"
    monkeypatch.setenv("QOS_NODE", "http://10.0.0.2:1317")
    assert config.default_node() == "http://10.0.0.2:1317"
    monkeypatch.delenv("QOS_NODE")
    assert main(["config", "node", "https://node.example:443"]) == 0
    assert config.default_node() == "https://node.example:443"
    assert main(["config", "node", "node.example"]) == 2  # no scheme: refused, file unchanged
    capsys.readouterr()
    assert main(["config", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["node"] == "https://node.example:443" and shown["home"] == str(home)


# ---- export / import, rename, --keyring-dir ----------------------------------------------------


def test_an_exported_key_imports_only_with_its_passphrase_and_unedited(ring, alice, tmp_path):
    ring.add("alice", alice, PASS)
    with pytest.raises(KeyringError, match="wrong passphrase"):
        ring.export("alice", "guess")
    exported = ring.export("alice", PASS)
    other = Keyring(tmp_path / "other")
    with pytest.raises(KeyringError, match="wrong passphrase"):
        other.import_entry("alice2", exported, "guess")
    for field, value in (("address", Account.from_mnemonic(WORDS, "", 0, 1).address_string),
                         ("name", "mallory"), ("ciphertext", "00" + exported["ciphertext"][2:])):
        with pytest.raises(KeyringError):
            other.import_entry("alice2", {**exported, field: value}, PASS)
    with pytest.raises(KeyringError, match="not an exported"):
        other.import_entry("alice2", {"mnemonic": WORDS}, PASS)
    assert other.list() == []  # every refusal stored nothing
    info = other.import_entry("alice2", exported, PASS)
    assert info.address == alice.account.address_string
    assert other.open("alice2", PASS).mnemonic == WORDS


def test_rename_keeps_the_key_and_a_refused_rename_changes_nothing(ring, alice):
    ring.add("alice", alice, PASS)
    ring.add("bob", Secret(Account.from_mnemonic(WORDS, "", 0, 1), None), PASS)
    with pytest.raises(KeyringError, match="wrong passphrase"):
        ring.rename("alice", "carol", "guess")
    with pytest.raises(KeyringError, match="exists"):
        ring.rename("alice", "bob", PASS)
    assert [k.name for k in ring.list()] == ["alice", "bob"]
    assert ring.open("bob", PASS).account.address_string != alice.account.address_string
    ring.rename("alice", "carol", PASS)
    assert [k.name for k in ring.list()] == ["bob", "carol"]
    assert ring.open("carol", PASS).mnemonic == WORDS


def test_a_device_entry_whose_address_is_not_its_keys_is_refused(ring):
    from host.core.keyring import DeviceKey, KeyInfo

    account = Account.from_mnemonic(WORDS)
    other = Account.from_mnemonic(WORDS, "", 0, 1)
    where = DeviceKey("udp:127.0.0.1:21324", 0, 0)
    with pytest.raises(KeyringError, match="not the public key's"):
        ring.add_device(KeyInfo("dev", other.address_string, account.pubkey.hex(), where))
    ring.add_device(KeyInfo("dev", account.address_string, account.pubkey.hex(), where))
    path = ring.path_of("dev")
    doc = json.loads(path.read_text())
    path.write_text(json.dumps({**doc, "address": other.address_string}))
    with pytest.raises(KeyringError, match="not the public key's"):
        ring.show("dev")
    with pytest.raises(KeyringError, match="stays on the device"):
        ring.open("dev", PASS)


def test_keys_export_import_rename_and_keyring_dir_on_the_command_line(home, tmp_path, capsys,
                                                                        monkeypatch):
    words = tmp_path / "words"
    words.write_text(WORDS)
    address = Account.from_mnemonic(WORDS).address_string
    assert run(capsys, "keys", "add", "alice", "--mnemonic-file", str(words))[0] == 0
    code, out, _ = run(capsys, "keys", "export", "alice", "--sealed")
    assert code == 0 and WORDS not in out and "abandon" not in out
    exported = tmp_path / "alice.key"
    exported.write_text(out)
    elsewhere = str(tmp_path / "elsewhere")
    # --keyring-dir before or after the action
    code, out, _ = run(capsys, "keys", "--keyring-dir", elsewhere, "import", "al", str(exported))
    assert code == 0 and address in out
    code, out, _ = run(capsys, "keys", "list", "--keyring-dir", elsewhere, "--json")
    assert [k["name"] for k in json.loads(out)] == ["al"]
    assert [k["name"] for k in json.loads(run(capsys, "keys", "list", "--json")[1])] == ["alice"]
    tampered = tmp_path / "tampered.key"
    doc = json.loads(exported.read_text())
    tampered.write_text(json.dumps({**doc, "nonce": "11" * 12}))
    code, _, err = run(capsys, "keys", "import", "bad", str(tampered))
    assert code == 2 and "wrong passphrase, or the file was changed" in err
    (tmp_path / "junk.key").write_text("not json")
    code, _, err = run(capsys, "keys", "import", "bad", str(tmp_path / "junk.key"))
    assert code == 2 and "junk.key" in err
    monkeypatch.setenv("QOS_KEYRING_PASSPHRASE", "wrong")
    code, _, err = run(capsys, "keys", "import", "bad", str(exported))
    assert code == 2 and "wrong passphrase" in err
    code, _, err = run(capsys, "keys", "rename", "alice", "bob")
    assert code == 2 and "wrong passphrase" in err
    monkeypatch.setenv("QOS_KEYRING_PASSPHRASE", PASS)
    assert [k["name"] for k in json.loads(run(capsys, "keys", "list", "--json")[1])] == ["alice"]
    code, out, _ = run(capsys, "keys", "rename", "alice", "bob")
    assert code == 0 and "'bob'" in out
    assert run(capsys, "keys", "show", "bob", "-a")[1].strip() == address
    assert run(capsys, "keys", "show", "alice")[0] == 2
    # a tx signs with a key of another keyring directory
    to = Account.from_mnemonic(WORDS, "", 0, 1).address_string
    code, out, _ = run(capsys, "tx", "bank", "send", to, "1qos", "--from", "al", "--keyring-dir",
                       elsewhere, "--chain-id", "qos-test", "--nonce", "1", "--fee", "1",
                       "--dry-run")
    assert code == 0 and json.loads(out)["signed_tx"]


# ---- a device entry: the key stays on the device ---------------------------------------------


class Terminal(io.StringIO):
    """stdin as a terminal: what a person types (getpass) is given by the test."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(scope="module")
def emulator():
    from host.devtools.emulator import Emulator
    from host.devtools.ports import free_port_pair

    with Emulator(port=free_port_pair(), kdf_ms=1) as emu:
        yield emu


def test_a_device_entry_signs_on_the_device_and_only_on_the_device_holding_its_key(
        home, tmp_path, capsys, monkeypatch, emulator):
    from host.bridge.debuglink import DebugLink
    from host.core.tx import SignedTx
    from host.devtools.scripted_user import ScriptedUser

    address = Account.from_mnemonic(WORDS, "", 0, 2).address_string
    to = Account.from_mnemonic(WORDS).address_string
    offline = ["--chain-id", "qos-test", "--nonce", "1", "--fee", "1"]
    with DebugLink.open(emulator.debug_path) as debug:
        debug.wipe()
        debug.load(WORDS, "1234")
        code, out, _ = run(capsys, "keys", "add", "ledger", "--device", emulator.wire_path,
                           "--index", "2", "--json")
        assert code == 0 and json.loads(out)["address"] == address
        entry = json.loads(home.joinpath("keyring", "ledger.json").read_text())
        assert set(entry) == {"type", "name", "address", "pubkey", "device"}  # nothing secret
        code, out, _ = run(capsys, "keys", "list")
        assert "ledger" in out and f"(device {emulator.wire_path})" in out
        # unsigned: no device needed; signed: on the device, which shows the tx and asks
        code, out, _ = run(capsys, "tx", "bank", "send", to, "1qos", "--from", "ledger", *offline,
                           "--generate-only")
        assert code == 0
        user = ScriptedUser(debug)
        code = user.confirm(lambda: main(["tx", "bank", "send", to, "1qos", "--from", "ledger",
                                          *offline, "--dry-run"]))
        signed = SignedTx.decode(bytes.fromhex(json.loads(capsys.readouterr().out)["signed_tx"]))
        assert code == 0 and signed.verify() and "1.0000 QOS" in user.last.text()
        assert signed.pubkey.hex() == entry["pubkey"]
        # locked: without a terminal the error says so; at a terminal the PIN is asked for
        from host.bridge.client import Client

        with Client.open(emulator.wire_path) as client:
            client.lock()
        send = ["tx", "bank", "send", to, "1qos", "--from", "ledger", *offline, "--dry-run"]
        code, _, err = run(capsys, *send)
        assert code == 1 and "locked" in err
        with monkeypatch.context() as typing:
            typing.setattr("sys.stdin", Terminal())
            typing.setattr("getpass.getpass", lambda prompt: "1234")
            assert user.confirm(lambda: main(send)) == 0
        assert "the device is locked" in capsys.readouterr().err
        # the device now holds another wallet: refused before anything is signed
        debug.wipe()
        debug.load(" ".join(["legal", "winner", "thank", "year", "wave", "sausage", "worth",
                             "useful", "legal", "winner", "thank", "yellow"]), "1234")
        code, _, err = run(capsys, "tx", "bank", "send", to, "1qos", "--from", "ledger",
                           *offline, "--dry-run")
        assert code == 1 and "holds another key" in err
        assert run(capsys, "keys", "export", "ledger")[0] == 2
        code, _, err = run(capsys, "keys", "add", "dead", "--device", "udp:127.0.0.1:9")
        assert code == 1 and not home.joinpath("keyring", "dead.json").exists()
        # nothing secret in it: delete and rename need no passphrase
        monkeypatch.delenv("QOS_KEYRING_PASSPHRASE")
        code, _, _ = run(capsys, "keys", "rename", "ledger", "hw")
        assert code == 0 and run(capsys, "keys", "show", "hw", "-a")[1].strip() == address
        assert run(capsys, "keys", "delete", "hw")[0] == 0
