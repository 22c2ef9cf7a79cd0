# The device's state between requests: storage, the unlocked seed, derived keys, a pending
# setup, button presses queued by the debug link. Handlers get it as `dev`.
import gc

from ui.screen import Screen
from wire import errors

KEY_CACHE = 8
DIALOG_TIMEOUT_S = 120  # an unanswered dialog cancels itself: a vanished host frees the device
PRESS_GUARD_MS = 300  # presses this soon after a dialog appears were aimed at what it replaced


class Device:
    def __init__(self, board, vault, model, clock):
        self.board = board
        self.vault = vault
        self.model = model
        self.clock = clock  # seconds since boot; debug builds may move it forward (debug_time)
        self.dialog_timeout_s = getattr(board, "dialog_timeout_s", DIALOG_TIMEOUT_S)
        self.screen = Screen(board.display)
        self.dispatcher = None
        self.seed = None  # 64-byte BIP39 seed while unlocked
        self.keys = {}  # (account, index) -> (ed25519 seed, public key)
        self.pending_setup = None  # (words, device_entropy) between setup_begin and setup
        self.pending_oracle = None  # (vault step, how to finish) waiting for pin_server_reply
        self.pending_update = None  # the release being streamed in (apps/update.py)
        self.presses = []  # debug-link presses made on the dialog waiting now
        self.dialog = None  # (screen seq, clock when drawn) of the dialog waiting for a button
        self.debug_secret = None  # debug builds only: the mnemonic being shown or loaded

    # --- user interaction
    def request_done(self):
        self.presses = []
        if self.seed is None:
            from apps import release_to_boot

            release_to_boot()

    def session_ended(self):
        # A setup commitment, a PIN-server step or an update belongs to the host that started it.
        self.pending_setup = None
        self.pending_oracle = None
        self.pending_update = None

    def wait_button(self, countdown=None):
        """The button pressed on the dialog just drawn. Only presses made while it is shown
        count: the board drops edges from before it (and PRESS_GUARD_MS after), the debug link
        refuses presses when no dialog waits. Without an answer the dialog cancels
        after dialog_timeout_s; countdown(seconds_left) redraws its hint bar each second."""
        start = self.clock.now_ms()
        self.dialog = (self.screen.seq, start)
        self.presses = []
        self.board.arm_buttons(PRESS_GUARD_MS)
        shown = -1
        try:
            while True:
                if self.presses:
                    return self.presses.pop(0)
                pressed = self.board.read_button()
                if pressed:
                    return pressed
                left = self.dialog_timeout_s - (self.clock.now_ms() - start) // 1000
                if left <= 0:
                    raise errors.RpcError(
                        errors.CANCELLED,
                        "no answer on the device within %d s: cancelled" % self.dialog_timeout_s,
                    )
                if countdown is not None and left != shown:
                    countdown(left)
                    shown = left
                self.dispatcher.pump(20)
        finally:
            self.dialog = None
            self.presses = []

    def accept_press(self, button, seq=None):
        """A debug-link press for the dialog waiting now (the one drawn as screen `seq`)."""
        if self.dialog is None:
            raise errors.RpcError(errors.WRONG_STATE, "no dialog is waiting for a button")
        drawn, at = self.dialog
        if seq is not None and seq != drawn:
            shown = "the press was for screen %d; screen %d is waiting" % (seq, drawn)
            raise errors.RpcError(errors.WRONG_STATE, shown)
        if seq is None and self.clock.now_ms() - at < PRESS_GUARD_MS:
            raise errors.RpcError(
                errors.WRONG_STATE, "pressed within %d ms of the dialog appearing" % PRESS_GUARD_MS
            )
        self.presses.append(button)

    def pin_progress(self, done, total):
        self.screen.progress("PIN", "Checking the PIN", done / total if total else 1)
        self.service()

    def service(self):
        # Called from long computations (seed derivation): keeps ping and the debug link alive.
        self.dispatcher.pump(0)

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
            # Signing needs none of the derivation code; the next new key loads it again.
            from apps import unload

            unload(*keys.DERIVATION_CODE)
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
