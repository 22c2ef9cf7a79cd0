# The vendor keys a firmware release must be signed with: THRESHOLD of the ed25519 public keys in
# KEYS. `qos fw build --update-keys FILE` writes this file into a build; the sources carry none,
# so a build made without keys installs no update at all (there is no key anyone could sign with).
THRESHOLD = 0
KEYS = ()
