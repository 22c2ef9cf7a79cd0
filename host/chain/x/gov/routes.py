"""x/gov's REST routes."""

from host.chain.x.module import PathParam, QueryRoute, int_param

ROUTES = (
    QueryRoute("/gov/proposals", "gov/proposals", "every governance proposal",
               height=False, prove=False),
    QueryRoute("/gov/proposals/{id}", "gov/proposal", "one proposal with its votes",
               lambda id: int_param(id, "id", 1).to_bytes(8, "big"),
               (PathParam("id", "proposal id", "integer"),)),
    QueryRoute("/params", "params", "the chain parameters in force (gov/param_change sets them)"),
    QueryRoute("/upgrade/plan", "upgrade/plan", "the software upgrade scheduled by governance"),
)
