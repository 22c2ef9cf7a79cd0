"""x/exchange's REST routes."""

from host.chain.x.context import enc
from host.chain.x.module import ADDRESS, PathParam, QueryRoute, address_param, name_param

NAME = PathParam("name", "QSC token name, 1..8 of A-Z")


def _shares(name: str, address: str) -> bytes:
    return enc([name_param(name), address_param(address)])


ROUTES = (
    QueryRoute("/exchange/pools", "exchange/pools", "every QOS/QSC market",
               height=False, prove=False),
    QueryRoute("/exchange/pools/{name}", "exchange/pool",
               "one market: reserves, shares, spot price and this period's average price",
               lambda name: name_param(name).encode(), (NAME,)),
    QueryRoute("/exchange/pools/{name}/shares/{address}", "exchange/shares",
               "an account's liquidity shares", _shares, (NAME, ADDRESS)),
)
