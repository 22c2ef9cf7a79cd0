"""Errors of the device side of the host, one class per case (trezorlib's exceptions.py is the
model): an error reply from the device raises the :class:`DeviceError` subclass its code names, a
link that fails raises a :class:`TransportError` subclass.
"""

from __future__ import annotations

from typing import Any


class TransportError(OSError):
    """The link failed: a bad device path, a missing backend, a device that went away."""


class BadDevicePath(TransportError, ValueError):
    """A device path that names no transport: bad input (the CLI exits 2), nothing was opened."""


class DeviceError(Exception):
    """The device answered with an error reply."""

    code = 0

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{message} ({code})")
        self.code = code
        self.message = message
        self.data = data


class InvalidRequest(DeviceError):
    code = -32600


class UnknownMethod(DeviceError):
    code = -32601


class BadParams(DeviceError):
    code = -32602


class InternalError(DeviceError):
    code = -32603


class UserCancelled(DeviceError):
    code = -32000


class ProtocolError(DeviceError):
    code = -32001


class DeviceLocked(DeviceError):
    code = -32002


class DeviceBusy(DeviceError):
    code = -32003


class TooLarge(DeviceError):
    code = -32004


class WrongState(DeviceError):
    code = -32005


class WrongPin(DeviceError):
    code = -32006

    @property
    def retries_left(self) -> int | None:
        return self.data.get("retries_left") if isinstance(self.data, dict) else None


class PinDelay(DeviceError):
    code = -32007

    @property
    def wait_s(self) -> int | None:
        return self.data.get("wait_s") if isinstance(self.data, dict) else None


class EntropyFailure(DeviceError):
    code = -32008


class PinServerRetry(DeviceError):
    """The PIN server's reply says the device's request number was behind; the device took the
    server's number and did not count the try: asking again works."""

    code = -32009


class InvalidSession(DeviceError):
    """The request carried no session, or one that is no longer the device's: another host
    acquired it since (or the device restarted). Acquire again to take it back."""

    code = -32010


class UpdateRefused(DeviceError):
    """The device refused a firmware release: not signed by enough of its vendor keys, for
    another board, not newer than what runs, a debug image for a production device, or an image
    that does not match its signed hash. The running firmware is kept."""

    code = -32011


ERROR_CLASSES: dict[int, type[DeviceError]] = {
    cls.code: cls
    for cls in (
        InvalidRequest,
        UnknownMethod,
        BadParams,
        InternalError,
        UserCancelled,
        ProtocolError,
        DeviceLocked,
        DeviceBusy,
        TooLarge,
        WrongState,
        WrongPin,
        PinDelay,
        EntropyFailure,
        PinServerRetry,
        InvalidSession,
        UpdateRefused,
    )
}


class NoReply(TransportError):
    """The device did not answer in time (unplugged, hung, or the user walked away)."""


class BadReply(TransportError):
    """The device answered something that is not a valid reply."""


class HostEntropyError(Exception):
    """The host's own entropy (its OS source and any configured QRNG) failed a health test or
    could not be read: nothing was sent to the device."""


class SetupCheckFailed(Exception):
    """A commit-reveal check round showed the device did not derive the seed it committed to."""


def device_error(error: Any) -> DeviceError:
    if not isinstance(error, dict) or not isinstance(error.get("code"), int):
        return InternalError(-32603, f"malformed error reply: {error!r}")
    code: int = error["code"]
    text = error.get("message")
    message = text if isinstance(text, str) else "error"
    return ERROR_CLASSES.get(code, DeviceError)(code, message, error.get("data"))
