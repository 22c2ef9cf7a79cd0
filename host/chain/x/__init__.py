"""Application modules (Cosmos SDK x/<module> style).

Each owns its messages' handlers, its state keys, its queries and its invariants.
"""
