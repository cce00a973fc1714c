"""The camp page of a running service, in a real browser: the virtual camp served over Modbus on
loopback, the service polling it in real time (dry run) with the page on its HTTP port. A device
switched off shows offline within two poll cycles, without reloading the page, and online again
when it comes back; in dry run the setpoints say "would write", never "confirmed".
"""

from __future__ import annotations

import pytest
from web_testkit import LiveCamp, read_page, screenshot, wait_until

pytestmark = pytest.mark.integration

POLL_S = 2.0  #: every device's poll interval, and the service's poll tick. [s]
DEVICE = "dg-2"


def state_of(driver, device: str) -> str | None:
    return driver.execute_script(
        "const r = document.querySelector(`tr[data-device='${arguments[0]}']`);"
        "return r ? r.dataset.state : null;", device)


def test_device_switched_off_shows_offline_within_two_poll_cycles(chromium, tmp_path):
    live = LiveCamp(f"sqlite:///{tmp_path / 'live.sqlite'}", poll_s=POLL_S, control_mode="dry_run",
                    page_refresh_s=0.5)
    try:
        chromium.get(live.url)
        chromium.execute_script("window.notReloaded = 1;")
        wait_until(lambda: set(read_page(chromium).devices.values()) == {"online"}, 60,
                   "every device online on the page")
        setpoints = wait_until(lambda: read_page(chromium).setpoints, 120, "the first setpoints")
        assert {state for _, state in setpoints} == {"would write"}, setpoints

        polls = live.wired.service.state
        before = polls.polls
        live.call(live.servers.stop_device(DEVICE))
        wait_until(lambda: state_of(chromium, DEVICE) == "offline", 30, f"{DEVICE} offline on the page",
                   every_s=0.05)
        cycles = polls.polls - before
        print(f"{DEVICE} offline on the page after {cycles} poll cycle(s)")
        assert cycles <= 2, f"{DEVICE} showed offline after {cycles} poll cycles"
        others = read_page(chromium).devices
        assert all(state == "online" for name, state in others.items() if name != DEVICE), others
        assert chromium.execute_script("return window.notReloaded") == 1  # refreshed in place

        live.call(live.servers.start_device(DEVICE))
        wait_until(lambda: state_of(chromium, DEVICE) == "online", 60, f"{DEVICE} online again")
        screenshot(chromium, live.url, "camp-page-live")
    finally:
        live.stop()
