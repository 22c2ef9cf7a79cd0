"""x/staking's REST routes."""

from host.chain.x.module import PathParam, QueryRoute, address_param

ROUTES = (
    QueryRoute("/staking/validators", "staking/validators", "validators in the staking module",
               height=False, prove=False),
    QueryRoute("/staking/validators/{operator}", "staking/validator", "one validator",
               lambda operator: address_param(operator, "operator"),
               (PathParam("operator", "operator address (bech32)"),)),
)
