"""The `qos` and `qosd` command lines: one module per command group, thin over the libraries."""
