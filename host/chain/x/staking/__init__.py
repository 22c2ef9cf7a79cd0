"""x/staking: DPOS validators, delegation, unbonding, 21 super nodes per epoch, 时效 (renewal),
交易量 (tx volume), slashing, jailing and the 2/3 vote-out."""
