"""x/distribution's REST routes."""

from host.chain.x.module import QueryRoute

ROUTES = (
    QueryRoute("/distribution/pools", "distribution/pools", "fee, reward and community pools",
               height=False, prove=False),
)
