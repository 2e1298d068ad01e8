"""The dashboard in a real headless Chromium (Debian's chromium + chromedriver, via selenium)
against ``fleet http-ingest`` and the real worker and ingestor processes: sign in with a key,
a pushed signal's execution appears on the overview without a reload, a stop-loss exit shows
in the agent's trades, the page reconnects after the app restarts, another user's key sees
none of it, sign out. Screenshots at 1280 and 390 px are saved under the test's tmp dir, and
the 1280 px overview is copied to docs/img/dashboard-overview.png for the README.

A missing browser fails the test (it never skips): `.ci/run` installs it."""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import redis
from celery import Celery
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import Engine, select

from persistence import models as m
from persistence.db import make_session_factory
from persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.e2e.conftest import ROOT, Proc, start, wait_for
from tests.e2e.sweep_helpers import refresh_and_sweep
from tests.e2e.test_pipeline import FIXED_SIZE, MINT, Clock, set_price
from tests.integration.test_ops import free_port
from workers.handlers.operators.agents import NewAgent, create_agent
from workers.handlers.operators.keys import create_key

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage")
README_SHOT = ROOT / "docs" / "img" / "dashboard-overview.png"


def _up(base: str) -> bool:
    try:
        return httpx.get(f"{base}/v1/health", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def serve(env: dict[str, str], tmp: Path, port: int, name: str = "http") -> Proc:
    return start(name, ["http-ingest", "--port", str(port)], env, tmp,
                 lambda p: _up(f"http://127.0.0.1:{port}"))


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    for path in (CHROMIUM, CHROMEDRIVER):  # fail, never skip: .ci/run installs them
        assert path.exists(), f"{path} missing: apt-get install -y chromium chromium-driver"
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}",
                 "--window-size=1280,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER), log_output=str(
        tmp_path / "chromedriver.log")), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def sign_in(driver: WebDriver, base: str, key: str) -> None:
    driver.delete_all_cookies()
    driver.get(f"{base}/dashboard")
    assert driver.current_url.endswith("/dashboard/login")  # no session: the sign-in form
    field = driver.find_element(By.CSS_SELECTOR, "label[for=api_key] + input#api_key")
    field.send_keys(key)
    driver.find_element(By.CSS_SELECTOR, "#login button[type=submit]").click()
    WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.TAG_NAME, "h1")
                                    and d.find_element(By.TAG_NAME, "h1").text == "Fleet overview")
    wait_live(driver)


def wait_live(driver: WebDriver) -> None:
    WebDriverWait(driver, 10).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-live") == "ready")


def text_of(driver: WebDriver, selector: str) -> str:
    """The matches' visible text, read in one script call: the live refresh replaces
    sections, so element handles held across calls could go stale."""
    return str(driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]))"
        ".map(e => e.innerText).join(' ')", selector))


def screenshot(driver: WebDriver, path: Path, width: int) -> None:
    driver.set_window_size(width, 900)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, max(int(height) + 120, 600))
    driver.save_screenshot(str(path))
    assert path.stat().st_size > 10_000, f"{path} looks empty"
    driver.set_window_size(1280, 900)


def executed(engine: Engine, agent_id: uuid.UUID) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(m.SignalExecution.id).where(
            m.SignalExecution.agent_id == agent_id)).all())


def post_signal(base: str, key: str) -> None:
    body = {"token_address": MINT, "signal_type": "buy", "signal_strength": 60, "symbol": "BONK"}
    answer = httpx.post(f"{base}/v1/signals", json=body, headers={"X-API-Key": key}, timeout=10)
    assert answer.status_code == 201, answer.text


def test_the_dashboard_live_in_a_real_browser(
        pipeline: Engine, e2e_redis: redis.Redis, sender: Celery, stack_env: dict[str, str],
        browser: WebDriver, tmp_path: Path) -> None:
    uow = lambda: SqlAlchemyUnitOfWork(make_session_factory(pipeline))  # noqa: E731
    alice = create_key(uow(), Clock(), user_email="alice@example.com",
                       scopes=["signals", "read"]).key
    bob = create_key(uow(), Clock(), user_email="bob@example.com", scopes=["read"]).key
    alpha = create_agent(uow(), Clock(), NewAgent(name="alpha", deposit_sol=Decimal(10),
                                                  config=FIXED_SIZE,
                                                  user_email="alice@example.com"))
    create_agent(uow(), Clock(), NewAgent(name="bravo", deposit_sol=Decimal(3),
                                          user_email="bob@example.com"))
    set_price(e2e_redis, "0.001")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = serve(stack_env, tmp_path, port)
    driver = browser
    try:
        sign_in(driver, base, alice)
        assert "alpha" in text_of(driver, "table") and "bravo" not in text_of(driver, "main")
        driver.execute_script("window.__sameDocument = true")

        post_signal(base, alice)  # a pushed signal: ingest → fan-out → the worker executes
        pushed = time.monotonic()
        wait_for(lambda: executed(pipeline, alpha) == 1, 15, "the execution")
        committed = time.monotonic()
        WebDriverWait(driver, 2).until(lambda d: "EXECUTED" in text_of(d, "#executions-body"))
        shown = time.monotonic()
        print(f"execution on screen {shown - committed:.2f}s after its commit, "
              f"{shown - pushed:.2f}s after the push")
        assert driver.execute_script("return window.__sameDocument === true")  # no reload
        row = text_of(driver, "#executions-body tr")
        assert "alpha" in row and "open" in row and "BONK" in row
        WebDriverWait(driver, 5).until(lambda d: "BONK" in text_of(d, "#positions tbody"))
        screenshot(driver, tmp_path / "overview-1280.png", 1280)
        screenshot(driver, tmp_path / "overview-390.png", 390)
        README_SHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tmp_path / "overview-1280.png", README_SHOT)

        WebDriverWait(driver, 5, ignored_exceptions=[StaleElementReferenceException]).until(
            lambda d: d.find_element(By.LINK_TEXT, "alpha").click() or True)  # live-refreshed
        WebDriverWait(driver, 10).until(lambda d: "alpha" in d.find_element(By.TAG_NAME,
                                                                            "h1").text)
        wait_live(driver)
        driver.execute_script("window.__sameDocument = true")
        refresh_and_sweep(sender, e2e_redis, "0.0006")  # −40 %: below the −32 % stop
        WebDriverWait(driver, 5).until(lambda d: "stop_loss" in text_of(d, "#trades-body"))
        assert driver.execute_script("return window.__sameDocument === true")
        assert driver.find_elements(By.CSS_SELECTOR, "svg.chart circle.dot")  # the deposit
        WebDriverWait(driver, 5).until(  # the live refresh: the position is gone
            lambda d: "No open positions." in text_of(d, "#positions"))
        screenshot(driver, tmp_path / "agent-1280.png", 1280)
        screenshot(driver, tmp_path / "agent-390.png", 390)

        app.stop()  # the app restarts: the page reconnects by itself and catches up
        WebDriverWait(driver, 10).until(lambda d: d.find_element(
            By.TAG_NAME, "body").get_attribute("data-live") == "off")
        app = serve(stack_env, tmp_path, port, "http-restarted")
        wait_live(driver)
        set_price(e2e_redis, "0.001")
        post_signal(base, alice)
        wait_for(lambda: executed(pipeline, alpha) == 2, 15, "the second execution")
        WebDriverWait(driver, 3).until(lambda d: d.execute_script(
            "return document.querySelectorAll('#executions-body tr').length") == 2)
        assert driver.execute_script("return window.__sameDocument === true")

        sign_in(driver, base, bob)  # another user's key sees none of it
        seen = text_of(driver, "main")
        assert "bravo" in seen and "alpha" not in seen and "BONK" not in seen
        assert "No executions yet." in seen
        driver.get(f"{base}/dashboard/agents/{alpha}")
        assert "No such agent" in driver.find_element(By.TAG_NAME, "h1").text
        driver.get(f"{base}/dashboard/signals")
        assert "BONK" not in text_of(driver, "main")

        driver.get(f"{base}/dashboard")
        driver.find_element(By.CSS_SELECTOR, ".logout button").click()
        WebDriverWait(driver, 5).until(lambda d: d.current_url.endswith("/dashboard/login"))
        driver.get(f"{base}/dashboard")
        assert driver.current_url.endswith("/dashboard/login")  # the session is gone
    except BaseException:  # what the page showed, for the artifacts
        (tmp_path / "failed-page.html").write_text(driver.page_source)
        driver.save_screenshot(str(tmp_path / "failed-page.png"))
        raise
    finally:
        app.stop()
    logged = (tmp_path / "http.log").read_text() + (tmp_path / "http-restarted.log").read_text()
    for key in (alice, bob):
        assert key not in logged and key[8:] not in logged
