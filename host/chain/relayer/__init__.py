"""The QCP relayer (service.py): carries packets between two QOS chains."""
