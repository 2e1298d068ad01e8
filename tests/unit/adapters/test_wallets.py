"""Wallets from the environment, signing, and the no-secret-ever-shows guarantees."""

from __future__ import annotations

import base64
import copy
import json
import pickle

import pytest
from solders.keypair import Keypair
from solders.message import to_bytes_versioned
from solders.signature import Signature
from solders.transaction import VersionedTransaction
from structlog.testing import capture_logs

from domain.base58 import b58encode
from domain.errors import NotFound, PermanentError
from tests.unit.adapters.conftest import unsigned_tx_b64
from workers.adapters.wallets import Wallet, load_wallets, redaction_strings

KP1, KP2, KP3 = Keypair(), Keypair(), Keypair()
SEED = bytes(range(32))
SEED_KP = Keypair.from_seed(SEED)


def secret_forms(kp: Keypair) -> list[str]:
    secret = bytes(kp)
    return [str(kp), b58encode(secret[:32]), kp.to_json(), json.dumps(list(secret)),
            secret.hex(), repr(secret), repr(secret[:32])]


def test_three_formats() -> None:
    registry = load_wallets({
        "WALLET_1": str(KP1),                      # base58 64-byte secret
        "WALLET_2": b58encode(SEED),               # base58 32-byte seed
        "WALLET_10": json.dumps(list(bytes(KP3))),  # JSON array of 64 ints
        "OTHER": "ignored", "WALLET_X": "ignored", "MY_WALLET_4": "ignored",
    })
    assert registry.addresses() == [str(KP1.pubkey()), str(SEED_KP.pubkey()),
                                    str(KP3.pubkey())]
    assert registry.problems == ()
    assert len(registry) == 3 and str(KP3.pubkey()) in registry
    assert registry.get(str(SEED_KP.pubkey())).pubkey == SEED_KP.pubkey()
    assert registry.source(str(KP3.pubkey())) == "WALLET_10"


def test_whitespace_and_compact_json_accepted() -> None:
    registry = load_wallets({"WALLET_1": f"  {KP1!s}\n", "WALLET_2": f" {KP2.to_json()} "})
    assert registry.addresses() == [str(KP1.pubkey()), str(KP2.pubkey())]


@pytest.mark.parametrize("value", [
    "", "   ", "not-base58-0OIl", b58encode(bytes(31)), b58encode(b"\x01" * 64),
    json.dumps(list(range(63))), json.dumps([256] * 64), json.dumps([True] * 64),
    json.dumps(list(range(32))), "[1, 2,", "{}",
])
def test_invalid_reported_by_index_only(value: str) -> None:
    with capture_logs() as logs:
        registry = load_wallets({"WALLET_1": str(KP1), "WALLET_3": value})
    assert registry.addresses() == [str(KP1.pubkey())]
    assert registry.problems == ("WALLET_3: not a valid key",)
    assert [e["problem"] for e in logs if e["event"] == "wallets.problem"] == [
        "WALLET_3: not a valid key"]
    if value.strip():
        assert value.strip() not in repr(logs) and value.strip() not in repr(registry)


def test_duplicates_reported_and_skipped() -> None:
    registry = load_wallets({"WALLET_2": str(KP1), "WALLET_7": json.dumps(list(bytes(KP1))),
                             "WALLET_9": b58encode(bytes(KP1)[:32])})
    assert registry.addresses() == [str(KP1.pubkey())]
    assert registry.source(str(KP1.pubkey())) == "WALLET_2"
    assert registry.problems == ("WALLET_7: duplicate of WALLET_2; skipped",
                                 "WALLET_9: duplicate of WALLET_2; skipped")


def test_get_unknown_address() -> None:
    with pytest.raises(NotFound):
        load_wallets({}).get(str(KP1.pubkey()))


def test_sign_verifies_against_pubkey() -> None:
    wallet = load_wallets({"WALLET_1": str(KP1)}).get(str(KP1.pubkey()))
    signed = wallet.sign_transaction(unsigned_tx_b64(KP1.pubkey()))
    tx = VersionedTransaction.from_bytes(signed.raw)
    assert tx.verify_with_results() == [True]
    assert str(tx.signatures[0]) == signed.signature
    message = to_bytes_versioned(tx.message)
    assert Signature.from_string(signed.signature).verify(KP1.pubkey(), message)
    assert not Signature.from_string(signed.signature).verify(KP2.pubkey(), message)


def test_sign_wrong_signer_or_garbage() -> None:
    wallet = Wallet(KP1)
    with pytest.raises(PermanentError, match="cannot be signed") as info:
        wallet.sign_transaction(unsigned_tx_b64(KP2.pubkey()))
    assert info.value.__cause__ is None and info.value.__context__ is None
    with pytest.raises(PermanentError, match="cannot be signed"):
        wallet.sign_transaction(unsigned_tx_b64(KP1.pubkey(), extra_signers=1))
    with pytest.raises(PermanentError, match="not a valid"):
        wallet.sign_transaction("%%%")
    with pytest.raises(PermanentError, match="not a valid"):
        wallet.sign_transaction(base64.b64encode(b"garbage").decode())


def test_wallet_is_not_picklable_or_copyable() -> None:
    wallet = Wallet(KP1)
    for attempt in (lambda: pickle.dumps(wallet), lambda: copy.copy(wallet),
                    lambda: copy.deepcopy(wallet), lambda: pickle.dumps(load_wallets(
                        {"WALLET_1": str(KP1)}))):
        with pytest.raises(TypeError) as info:
            attempt()
        assert str(KP1) not in str(info.value)


def test_str_and_repr_show_only_the_address() -> None:
    wallet = Wallet(KP1)
    registry = load_wallets({"WALLET_1": str(KP1)})
    assert str(wallet) == repr(wallet) == f"Wallet({KP1.pubkey()})"
    for text in (str(wallet), repr(wallet), repr(registry), str(registry),
                 repr([wallet]), f"{wallet}", repr({"w": wallet})):
        for form in secret_forms(KP1):
            assert form not in text
    assert not hasattr(wallet, "__dict__")


def test_redaction_strings_cover_every_form() -> None:
    registry = load_wallets({"WALLET_1": str(KP1), "WALLET_2": b58encode(SEED)})
    strings = redaction_strings(registry)
    for kp in (KP1, SEED_KP):
        for form in secret_forms(kp):
            assert form in strings
    assert str(KP1.pubkey()) not in strings  # the address is public


def test_no_secret_in_logs_or_errors_on_any_path() -> None:
    """Run every wallet path with known keys and scan everything produced for them."""
    good, bad_seed = str(KP1), b58encode(SEED)[:-1] + "1"
    env = {"WALLET_1": good, "WALLET_2": good, "WALLET_3": bad_seed,
           "WALLET_4": json.dumps(list(bytes(KP2)))[:-1]}
    produced: list[str] = []
    with capture_logs() as logs:
        registry = load_wallets(env)
        wallet = registry.get(str(KP1.pubkey()))
        produced += [repr(registry), str(registry), repr(wallet), *registry.problems]
        for bad_call in (lambda: wallet.sign_transaction(unsigned_tx_b64(KP2.pubkey())),
                         lambda: wallet.sign_transaction("not base64"),
                         lambda: pickle.dumps(wallet),
                         lambda: registry.get(good)):
            with pytest.raises(Exception) as info:
                bad_call()
            produced += [str(info.value), repr(info.value), repr(info.value.__cause__),
                         repr(info.value.__context__)]
        wallet.sign_transaction(unsigned_tx_b64(KP1.pubkey()))
    produced.append(repr(logs))
    text = "\n".join(produced)
    for kp in (KP1, KP2, Keypair.from_seed(SEED)):
        for form in secret_forms(kp):
            assert form not in text
    assert bad_seed not in text and env["WALLET_4"] not in text
