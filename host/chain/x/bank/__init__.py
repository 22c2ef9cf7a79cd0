"""x/bank: QOS accounts, transfers, pools, supply and locked team allocations."""
