"""x/qsc's REST routes."""

from host.chain.x.context import enc
from host.chain.x.module import ADDRESS, PathParam, QueryRoute, address_param, name_param

NAME = PathParam("name", "token name, 1..8 of A-Z")


def _balance(name: str, address: str) -> bytes:
    return enc([name_param(name), address_param(address)])


def _allowance(name: str, owner: str, spender: str) -> bytes:
    return enc([name_param(name), address_param(owner, "owner"), address_param(spender, "spender")])


ROUTES = (
    QueryRoute("/qsc/{name}", "qsc/token", "a QSC token", lambda name: name_param(name).encode(),
               (NAME,)),
    QueryRoute("/qsc/{name}/balances/{address}", "qsc/balance", "an account's QSC balance",
               _balance, (NAME, ADDRESS)),
    QueryRoute("/qsc/{name}/allowances/{owner}/{spender}", "qsc/allowance", "an allowance",
               _allowance, (NAME, PathParam("owner", "owner address"),
                            PathParam("spender", "spender address"))),
)
