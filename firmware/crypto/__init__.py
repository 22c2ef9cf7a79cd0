# Device cryptography: hashes, KDFs, mnemonics and address encoding (crypto.sha512, crypto.hmac,
# crypto.pbkdf2, crypto.bip39, crypto.bech32) plus the curve code used for key derivation.
