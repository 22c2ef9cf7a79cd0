# QOS account keys on the device (the scheme existing QOS wallets use, see DESIGN.md "Keys"):
# BIP39 seed -> BIP32 secp256k1 m/44'/389'/account'/0/index -> SHA-256(child key) = ed25519
# seed -> ed25519 key pair; address = SHA-256(pubkey)[:20] in bech32 "qosacc".
#
# Deriving the chain node m/44'/389'/account'/0 costs five HMAC-SHA512 and two secp256k1
# multiplications; each address under it then costs one HMAC-SHA512, one SHA-256 and one
# ed25519 public key. So the last chain node and the last key pair are cached (in RAM only);
# call forget() when the device locks. BIP32 and secp256k1 are imported where they are used, so
# a device may drop them (DERIVATION_CODE) between derivations and keep this cache.

import hashlib

from crypto import ed25519 as _ed25519

HARDENED = 0x80000000  # bip32.HARDENED
# What deriving a new key needs beyond this module (and its ed25519): the device unloads it
# after a derivation, as signing needs none of it.
DERIVATION_CODE = ("crypto.bip32", "crypto.secp256k1", "crypto._table_secp256k1", "crypto.hmac")
COIN_TYPE = 389
ACCOUNT_HRP = "qosacc"
ACCOUNT_PUB_HRP = "qosaccpub"
VALIDATOR_HRP = "qosval"
VALIDATOR_PUB_HRP = "qosvalpub"
CONSENSUS_HRP = "qoscons"
CONSENSUS_PUB_HRP = "qosconspub"

_chain_node = None  # (seed, account, key32, chain_code32, pub33) of m/44'/389'/account'/0
_last_pair = None  # (seed, account, index, ed_seed32, pub32)


def _check_index(name, value):
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < HARDENED:
        raise ValueError("%s must be an integer in [0, 2^31)" % name)


def _check_seed(seed):
    if not isinstance(seed, (bytes, bytearray)) or len(seed) != 64:
        raise ValueError("BIP39 seed must be 64 bytes")


def qos_path(account=0, index=0):
    """m/44'/389'/account'/0/index as a list of indexes."""
    _check_index("account", account)
    _check_index("index", index)
    return [44 | HARDENED, COIN_TYPE | HARDENED, account | HARDENED, 0, index]


def _chain(seed, account):
    global _chain_node
    node = _chain_node
    if node is not None and node[1] == account and node[0] == seed:
        return node
    from crypto import bip32 as _bip32
    from crypto import secp256k1 as _secp256k1

    key, chain = _bip32.derive(seed, qos_path(account, 0)[:4])
    node = (bytes(seed), account, key, chain, _bip32.public_key(key))
    _chain_node = node
    # Keys under this node need no secp256k1 point (its public key is cached above), so the
    # curve's table goes until the next node: 4 KB more heap while signing.
    _secp256k1.release_table()
    return node


def account_keypair(seed, account=0, index=0):
    """(ed25519 seed32, public key32) of QOS account `account`, address `index`."""
    global _last_pair
    _check_seed(seed)
    _check_index("account", account)
    _check_index("index", index)
    last = _last_pair
    if last is not None and last[1] == account and last[2] == index and last[0] == seed:
        return last[3], last[4]
    node = _chain(seed, account)
    from crypto import bip32 as _bip32

    key, _ = _bip32.child(node[2], node[3], index, node[4])
    ed_seed = hashlib.sha256(key).digest()
    pub = _ed25519.public_key(ed_seed)
    _last_pair = (node[0], account, index, ed_seed, pub)
    return ed_seed, pub


def forget():
    """Drop the cached key material (on lock or wipe)."""
    global _chain_node, _last_pair
    _chain_node = None
    _last_pair = None


def address(pub):
    """20-byte address of a 32-byte ed25519 public key."""
    if not isinstance(pub, (bytes, bytearray)) or len(pub) != 32:
        raise ValueError("ed25519 public key must be 32 bytes")
    return hashlib.sha256(pub).digest()[:20]


def encode(hrp, payload):
    """Bech32 string of raw bytes under `hrp` (addresses: 20 bytes, public keys: 32 bytes)."""
    from crypto import bech32

    return bech32.encode(hrp, bytes(payload))


def address_string(pub, hrp=ACCOUNT_HRP):
    return encode(hrp, address(pub))


def pubkey_string(pub, hrp=ACCOUNT_PUB_HRP):
    if not isinstance(pub, (bytes, bytearray)) or len(pub) != 32:
        raise ValueError("ed25519 public key must be 32 bytes")
    return encode(hrp, pub)
