"""x/mint's REST routes."""

from host.chain.x.module import QueryRoute

ROUTES = (
    QueryRoute("/mint/schedule", "mint/schedule", "the mint schedule and what was minted",
               height=False, prove=False),
)
