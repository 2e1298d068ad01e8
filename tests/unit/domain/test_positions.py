from __future__ import annotations

import uuid
from decimal import Decimal as D

from domain.positions import open_position
from tests.unit.domain.helpers import AGENT_ID, T0, TOKEN


def test_an_opening_stores_the_default_stop_at_4_decimals() -> None:
    pos = open_position(
        id=uuid.UUID(int=1), agent_id=AGENT_ID, wallet_address="sim_w", token_address=TOKEN,
        token_symbol=None, purchase_transaction_id=uuid.UUID(int=2), sol_swapped=D(1),
        tokens_received=D(1000), fees_sol=D("0.000005"),
        stop_loss_percentage=D("-32.12345"), now=T0)
    assert pos.current_stop_loss_percentage == D("-32.1234")  # half-even, as stored
    assert (pos.purchase_price, pos.peak_price, pos.total_invested_sol) == (
        D("0.001"), D("0.001"), D("1.000005"))
