"""x/bank's REST routes."""

from host.chain.x.module import ADDRESS, QueryRoute, address_param

ROUTES = (
    QueryRoute("/accounts/{address}", "bank/account", "balance, nonce and locked amount",
               lambda address: address_param(address), (ADDRESS,)),
    QueryRoute("/accounts/{address}/assets", "bank/assets",
               "vouchers held: tokens of other chains, by path denom (docs/qcp.md)",
               lambda address: address_param(address), (ADDRESS,), height=False, prove=False),
    QueryRoute("/supply", "app/supply", "total supply, balances, locked amounts and pools",
               height=False, prove=False),
)
