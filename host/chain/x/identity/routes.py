"""x/identity's REST routes."""

from host.chain.x.module import ADDRESS, QueryRoute, address_param

ROUTES = (
    QueryRoute("/identity/{address}", "identity/get", "an on-chain identity",
               lambda address: address_param(address), (ADDRESS,), height=False),
)
