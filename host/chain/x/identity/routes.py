"""x/identity's REST routes."""

from host.chain.x.context import enc
from host.chain.x.module import ADDRESS, PathParam, QueryRoute, address_param, name_param


def _attestation(address: str, token: str) -> bytes:
    return enc([address_param(address), name_param(token)])


ROUTES = (
    QueryRoute("/identity/{address}", "identity/get", "an on-chain identity",
               lambda address: address_param(address), (ADDRESS,)),
    QueryRoute("/identity/{address}/attestations", "identity/attestations",
               "the attestations about an identity, each with whether it counts",
               lambda address: address_param(address), (ADDRESS,), height=False, prove=False),
    QueryRoute("/identity/{address}/attestations/{token}", "identity/attestation",
               "one attestation (provable: a business chain checks it against the app hash)",
               _attestation, (ADDRESS, PathParam("token", "the attesting QSC token's name"))),
)
