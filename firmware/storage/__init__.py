# Secret storage on the board's flash filesystem (LittleFS): atomic record files, the PIN
# counter, and the vault that keeps the mnemonic encrypted under a PIN-wrapped data key.
