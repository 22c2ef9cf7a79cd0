"""The QCP relayer: relay.py builds and checks one relay, service.py runs both directions."""

DEFAULT_FEE = 20_000  # fee limit of one relay tx, in units (the chain charges its own price)
MAX_BATCH = 16  # messages per tx (host/core/tx.py MAX_MSGS)
