# The device's state between requests: storage, the unlocked seed, derived keys, a pending
# setup, button presses queued by the debug link. Handlers get it as `dev`.
import gc

from ui.screen import Screen
from wire import errors

KEY_CACHE = 8


class Device:
    def __init__(self, board, vault, model):
        self.board = board
        self.vault = vault
        self.model = model
        self.screen = Screen(board.display)
        self.session = None
        self.seed = None  # 64-byte BIP39 seed while unlocked
        self.keys = {}  # (account, index) -> (ed25519 seed, public key)
        self.pending_setup = None  # (words, device_entropy) between setup_begin and setup
        self.pending_oracle = None  # (vault step, how to finish) waiting for pin_server_reply
        self.presses = []  # buttons pressed through the debug link
        self.debug_secret = None  # debug builds only: the mnemonic being shown or loaded

    # --- user interaction
    def request_done(self):
        # A debug-link press applies to the request waiting now or to the next one (a press may
        # arrive before the request's last report does); what a finished request left unused is
        # dropped, so it cannot confirm a later dialog.
        self.presses = []

    def wait_button(self):
        while True:
            if self.presses:
                return self.presses.pop(0)
            pressed = self.board.read_button()
            if pressed:
                return pressed
            self.session.pump(20)

    def pin_progress(self, done, total):
        self.screen.progress("PIN", "Checking the PIN", done / total if total else 1)
        self.service()

    def service(self):
        # Called from long computations (seed derivation): keeps ping and the debug link alive.
        self.session.pump(0)

    # --- keys
    def require_unlocked(self):
        if not self.vault.initialized():
            raise errors.RpcError(errors.WRONG_STATE, "device is not initialised")
        if self.seed is None:
            raise errors.RpcError(errors.LOCKED, "device is locked")

    def keypair(self, account, index):
        key = (account, index)
        pair = self.keys.get(key)
        if pair is None:
            from crypto import keys

            pair = keys.account_keypair(self.seed, account, index)
            if len(self.keys) >= KEY_CACHE:
                self.keys.pop(next(iter(self.keys)))
            self.keys[key] = pair
            gc.collect()
        return pair

    def warm_keys(self):
        # Right after an unlock the heap holds the least it ever will while unlocked: derive the
        # first account's BIP32 chain now (big-integer work with a fair transient footprint),
        # not in the middle of a sign_tx with the tx decoder loaded.
        if self.seed is not None and not self.keys:
            self.keypair(0, 0)

    def set_seed(self, seed):
        self.seed = seed
        self.keys = {}

    def lock(self):
        self.seed = None
        from apps import release_wallet

        release_wallet()
        self.keys = {}
        self.debug_secret = None
        gc.collect()

    def remember(self, mnemonic):
        # Only debug builds keep the mnemonic around, for debug_state (test fixtures).
        import buildflags

        self.debug_secret = mnemonic if buildflags.DEBUG else None

    def home(self):
        if not self.vault.initialized():
            lines = ["Not set up.", "", "Use the host app to", "create or recover", "a wallet."]
        elif self.seed is None:
            lines = ["Locked.", "", "Unlock from the host."]
        else:
            lines = ["Ready.", "", self.vault.label()]
        self.screen.draw("QOS", lines, "")
