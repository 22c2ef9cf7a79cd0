"""`make demo`: the signer on the emulator, end to end (see host/bridge/demo.py).

A wallet is created with commit-reveal entropy, an address is shown on the device, a transfer is
signed after every page was confirmed, and the signature is verified on the host.
"""

import sys

from host.bridge.demo import main

if __name__ == "__main__":
    sys.exit(main())
