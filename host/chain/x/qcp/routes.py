"""x/qcp's REST routes (what a relayer reads, docs/qcp.md section 9). The signed blocks that
prove a solo chain's state (/blocks/{height}/signed) are the API's: they live in the block
store, which no module has."""

from host.chain.x.context import enc
from host.chain.x.module import PathParam, QueryRoute, chain_param, int_param, name_param


def _out(chain: str, seq: str) -> bytes:
    return enc([chain_param(chain), int_param(seq, "seq", low=1)])


ROUTES = (
    QueryRoute("/qcp/{chain}/client", "qcp/client",
               "this chain's client of that chain: validators, update height, frozen, number",
               lambda chain: chain_param(chain).encode(),
               (PathParam("chain", "the other chain's id"),)),
    QueryRoute("/qcp/{chain}/seq", "qcp/seq",
               "QCP sequence numbers: last queued (out), received (in), resolved (acked)",
               lambda chain: chain_param(chain).encode(),
               (PathParam("chain", "the other chain's id"),), height=False, prove=False),
    QueryRoute("/qcp/{chain}/out/{seq}", "qcp/out", "an outbound QCP packet with its proof", _out,
               (PathParam("chain", "destination chain id"),
                PathParam("seq", "sequence number", "integer"))),
    QueryRoute("/qcp/{chain}/ack/{seq}", "qcp/ack",
               "the ack this chain wrote on receiving that chain's packet, with its proof", _out,
               (PathParam("chain", "source chain id"),
                PathParam("seq", "sequence number", "integer"))),
    QueryRoute("/qcp/gateway/{name}", "qcp/gateway",
               "this chain as the gateway of an outside asset: its token, recorder, backed supply "
               "and withdrawals so far (docs/qcp.md section 11)",
               lambda name: name_param(name).encode(), (PathParam("name", "the asset name"),)),
)
