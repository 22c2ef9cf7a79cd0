# The device side of the wire protocol (docs/protocol.md section 5): framing, requests, errors.
