"""x/distribution: fees and block rewards to the proposer, signing validators, community."""
