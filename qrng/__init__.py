"""The entropy pipeline: sources, SP 800-90B health tests and assessment, SP 800-90A HMAC_DRBG.

Modules: sources (host sources), health (RCT/APT), drbg (HMAC_DRBG), pipeline (tested sources,
conditioning, mixing, host entropy for the device), assess (non-IID estimators), cli/commands
(`qos qrng`). The device's half lives in firmware/rng/. See docs/entropy.md.
"""
