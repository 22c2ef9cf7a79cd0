"""The PIN oracle's rules, as an attacker would probe them: right and wrong PINs answer alike,
the third wrong PIN in a row deletes the secret, replayed and forged requests are refused, a PIN
change hands over to a new record, and the database opens nothing by itself."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from host.devtools.pinserver import PinServerProcess
from host.pinserver import client, protocol
from host.pinserver.protocol import Op, Status
from host.pinserver.server import PinOracle
from host.pinserver.store import StoreError

from .refclient import Wallet, build_request, open_reply


@pytest.fixture
def oracle(tmp_path: Path):
    o = PinOracle(tmp_path)
    yield o
    o.close()


def ask(oracle: PinOracle, message: tuple[bytes, tuple[bytes, ...]]) -> tuple[int, int, bytes]:
    """(HTTP status, reply status, 64 reply bytes)."""
    request, keys = message
    http, body = oracle.handle(request)
    assert http in (200, 409), body
    status, data = open_reply(keys, body)
    return http, status, data


def enrolled(oracle: PinOracle) -> tuple[Wallet, bytes]:
    wallet = Wallet(oracle.pubkey)
    http, status, data = ask(oracle, wallet.set())
    assert (http, status) == (200, Status.OK)
    return wallet, data[:32]


def test_right_pin_gives_the_key_and_wrong_pins_a_random_one(oracle):
    wallet, key = enrolled(oracle)
    http, status, data = ask(oracle, wallet.get())
    assert (http, status, data[:32]) == (200, Status.OK, key)
    wrong = [ask(oracle, wallet.get(os.urandom(32))) for _ in range(2)]
    for http, status, data in wrong:
        # the same status, size and form as a right answer: only the device can tell, by trying
        assert (http, status, len(data)) == (200, Status.OK, 64)
        assert data[:32] != key
    assert wrong[0][2] != wrong[1][2]
    assert ask(oracle, wallet.get())[2][:32] == key


def test_three_wrong_pins_in_a_row_delete_the_secret(oracle):
    wallet, key = enrolled(oracle)
    for _ in range(2):
        ask(oracle, wallet.get(os.urandom(32)))
    assert oracle.store.count() == 1
    ask(oracle, wallet.get(os.urandom(32)))
    assert oracle.store.count() == 0
    # gone for good: the right PIN now gets a random key too
    http, status, data = ask(oracle, wallet.get())
    assert (http, status) == (200, Status.OK) and data[:32] != key


def test_a_right_pin_resets_the_count(oracle):
    wallet, key = enrolled(oracle)
    for _ in range(2):
        ask(oracle, wallet.get(os.urandom(32)))
    assert ask(oracle, wallet.get())[2][:32] == key
    for _ in range(2):
        ask(oracle, wallet.get(os.urandom(32)))
    assert ask(oracle, wallet.get())[2][:32] == key


def test_a_replayed_request_is_refused_and_changes_nothing(oracle):
    wallet, key = enrolled(oracle)
    right = wallet.get()
    assert ask(oracle, right)[2][:32] == key
    # An eavesdropper keeps a right-PIN request to reset the count between guesses: refused.
    ask(oracle, wallet.get(os.urandom(32)))
    ask(oracle, wallet.get(os.urandom(32)))
    http, status, data = ask(oracle, right)
    assert (http, status) == (409, Status.STALE)
    assert int.from_bytes(data[:8], "big") == wallet.seq  # what the device needs to catch up
    ask(oracle, wallet.get(os.urandom(32)))
    assert oracle.store.count() == 0  # the replay did not reset the count: the third wrong erased
    # a replayed enrolment does not re-create or overwrite a record either
    other = Wallet(oracle.pubkey)
    enrol = other.set()
    assert ask(oracle, enrol)[:2] == (200, Status.OK)
    assert ask(oracle, enrol)[:2] == (409, Status.STALE)


def test_an_older_request_is_refused_after_a_newer_one(oracle):
    wallet, key = enrolled(oracle)
    held = wallet.get()  # held back by a man in the middle
    assert ask(oracle, wallet.get())[2][:32] == key
    assert ask(oracle, held)[:2] == (409, Status.STALE)


@pytest.mark.parametrize("position", [0, 4, 5, 40, 100, -40, -1])
def test_a_forged_or_damaged_request_is_refused(oracle, position):
    wallet, _ = enrolled(oracle)
    request, _ = wallet.get()
    forged = bytearray(request)
    forged[position] ^= 0x01
    http, body = oracle.handle(bytes(forged))
    assert http == 400, body


def test_a_request_signed_by_another_identity_is_refused(oracle):
    victim, _ = enrolled(oracle)
    impostor = Wallet(oracle.pubkey)
    victim_id = victim.identity.public_key().public_bytes_raw()
    request, _ = build_request(
        oracle.pubkey, impostor.identity, Op.GET, 99, victim.pin_secret, id_pub=victim_id
    )
    assert oracle.handle(request)[0] == 400


def test_truncated_oversized_and_unknown_requests(oracle):
    wallet, _ = enrolled(oracle)
    request, _ = wallet.get()
    for bad in (b"", request[:50], request[:-1], request + b"x", b"QPO1\x09" + request[5:]):
        assert oracle.handle(bad)[0] == 400


def test_change_hands_over_to_a_new_record(oracle):
    old, old_key = enrolled(oracle)
    new = Wallet(oracle.pubkey)
    http, status, data = ask(oracle, old.change(new))
    assert (http, status) == (200, Status.OK) and data[:32] == old_key
    new_key = data[32:]
    assert oracle.store.count() == 2  # the old row stays until the new PIN is used
    new.seq = old.seq  # the device keeps one counter across the change
    assert ask(oracle, new.get())[2][:32] == new_key
    assert oracle.store.count() == 1  # ... and then it is gone
    assert ask(oracle, old.get())[2][:32] != old_key


def test_a_wrong_pin_in_a_change_counts_and_creates_nothing(oracle):
    old, _ = enrolled(oracle)
    new = Wallet(oracle.pubkey)
    http, status, data = ask(oracle, old.change(new, os.urandom(32)))
    assert (http, status, len(data)) == (200, Status.OK, 64)
    assert oracle.store.count() == 1
    ask(oracle, old.get(os.urandom(32)))
    ask(oracle, old.get(os.urandom(32)))
    assert oracle.store.count() == 0


def test_the_database_opens_nothing_by_itself(tmp_path):
    oracle = PinOracle(tmp_path)
    wallet, key = enrolled(oracle)
    oracle.close()
    raw = (tmp_path / "records.sqlite").read_bytes()
    id_pub = wallet.identity.public_key().public_bytes_raw()
    for secret in (key, wallet.pin_secret, id_pub):
        assert secret not in raw
    # another server's key opens none of its records
    other = PinOracle(tmp_path / "other")
    other.store.db.execute("ATTACH DATABASE ? AS theirs", (str(tmp_path / "records.sqlite"),))
    other.store.db.execute("INSERT INTO records SELECT * FROM theirs.records")
    with pytest.raises(StoreError):
        other.store.load(id_pub)
    other.close()


def test_a_deleted_secret_leaves_no_bytes_in_the_database_file(tmp_path):
    oracle = PinOracle(tmp_path)
    wallet, _ = enrolled(oracle)
    blob = oracle.store.db.execute("SELECT blob FROM records").fetchone()[0]
    for _ in range(3):
        ask(oracle, wallet.get(os.urandom(32)))
    oracle.close()
    assert blob[13:45] not in (tmp_path / "records.sqlite").read_bytes()  # secure_delete zeroed it


def test_the_real_service_over_http(tmp_path):
    with PinServerProcess(tmp_path) as server:
        info = client.fetch_info(server.url)
        assert info.fingerprint == protocol.fingerprint(info.pubkey)
        wallet = Wallet(info.pubkey)
        request, keys = wallet.set()
        status, data = open_reply(keys, client.relay(server.url, request))
        assert status == Status.OK
        key = data[:32]
        request, keys = wallet.get()
        assert open_reply(keys, client.relay(server.url, request))[1][:32] == key
        # the replay comes back as an authentic refusal (HTTP 409) the device can read
        assert open_reply(keys, client.relay(server.url, request))[0] == Status.STALE
        with pytest.raises(client.PinServerError, match="400"):
            client.relay(server.url, b"QPO1" + bytes(200))
    with pytest.raises(client.PinServerError):
        client.fetch_info(server.url, timeout=1)
