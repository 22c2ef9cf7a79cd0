"""The QCP relayer: relay.py builds and checks one relay, service.py runs both directions."""
