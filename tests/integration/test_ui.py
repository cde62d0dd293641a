"""Browser tests of the web UI (web/ui/), in Debian's headless Chromium via chromedriver.

test_ui_draws_tree_from_stub_api and test_ui_tolerates_missing_analysis_route run the UI
against uidev/stub_server.py (canned orchestrator-shaped JSON), so they check the UI alone:
tree nesting, problem marking, live refresh, URL prefixes and the error banner.
test_ui_shows_every_instance_of_a_live_topology runs it against the real orchestrator
service watching a real 4-node MariaDB star.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest
import requests

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

HERE = os.path.dirname(os.path.abspath(__file__))
STUB = os.path.join(HERE, "uidev", "stub_server.py")
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROME_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--no-first-run", "--disable-quic", "--window-size=1366,900"]
PAGE_TIMEOUT = 20   # s, page load
WAIT_TIMEOUT = 15   # s, element / state waits

# JS: every instance card -> {instance, master, state, parent (the card it is nested under)}.
CARDS_JS = """
return Array.from(document.querySelectorAll('[data-instance]')).map((el) => {
  const li = el.closest('li.node');
  const up = li && li.parentElement && li.parentElement.closest('li.node');
  const pc = up && up.querySelector(':scope > [data-instance]');
  return {instance: el.dataset.instance, master: el.dataset.master, state: el.dataset.state,
          role: el.dataset.role, downtimed: el.dataset.downtimed,
          parent: pc ? pc.dataset.instance : null, text: el.innerText};
});
"""


# ---- fixtures ----------------------------------------------------------------------------------

@pytest.fixture
def browser():
    """A headless Chromium with a fresh profile; quit and wiped afterwards."""
    for path in (CHROMIUM, CHROMEDRIVER):
        assert os.access(path, os.X_OK), f"{path} missing (Debian chromium / chromium-driver)"
    profile = tempfile.mkdtemp(prefix="orc-ui-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in CHROME_ARGS + ["--user-data-dir=" + profile]:
        opts.add_argument(arg)
    drv = None
    try:
        drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
        drv.set_page_load_timeout(PAGE_TIMEOUT)
        drv.set_script_timeout(WAIT_TIMEOUT)
        yield drv
    finally:
        if drv is not None:
            drv.quit()
        shutil.rmtree(profile, ignore_errors=True)


class Stub:
    """The dev stub server as a child process on a free 127.0.0.1 port."""

    def __init__(self, *args):
        self.proc = subprocess.Popen([sys.executable, STUB, "--port", "0", *args],
                                     stdout=subprocess.PIPE, text=True)
        line = self._readline(10)
        assert line.startswith("PORT "), f"stub did not start: {line!r}"
        self.port = int(line.split()[1])
        self.base = f"http://127.0.0.1:{self.port}"

    def _readline(self, timeout):
        import selectors
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        try:
            if not sel.select(timeout):
                return ""
            return self.proc.stdout.readline()
        finally:
            sel.close()

    def get(self, path):
        return requests.get(self.base + path, timeout=5)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc.stdout.close()


@pytest.fixture
def stub_factory():
    stubs = []

    def make(*args):
        s = Stub(*args)
        stubs.append(s)
        return s
    yield make
    for s in stubs:
        s.stop()


# ---- helpers -----------------------------------------------------------------------------------

def wait_for(drv, predicate, what, timeout=WAIT_TIMEOUT):
    """Polls predicate(drv) until truthy (returned); fails with `what` after timeout."""
    try:
        return WebDriverWait(drv, timeout, poll_frequency=0.1).until(lambda d: predicate(d))
    except Exception as exc:  # TimeoutException, or a JS error on the way
        pytest.fail(f"UI never showed {what} within {timeout}s: {exc!r}")


def refreshes(drv):
    return int(drv.execute_script("return +(document.body.dataset.refreshes || 0)"))


def load(drv, url):
    drv.get(url)
    wait_for(drv, lambda d: refreshes(d) >= 1, f"a first successful refresh at {url}")
    return {c["instance"]: c for c in drv.execute_script(CARDS_JS)}


def cards(drv):
    lst = drv.execute_script(CARDS_JS)
    keys = [c["instance"] for c in lst]
    assert len(keys) == len(set(keys)), f"an instance is drawn twice: {keys}"
    return {c["instance"]: c for c in lst}


def state_of(drv, key):
    return drv.execute_script(
        "const e = document.querySelector(`[data-instance=\"${arguments[0]}\"]`);"
        "return e ? e.dataset.state : null;", key)


# ---- tests against the stub --------------------------------------------------------------------

STAR = ["127.0.0.1:3306", "127.0.0.1:3307", "127.0.0.1:3308", "127.0.0.1:3309"]
CHAIN = ["db-a.example:3306", "db-b.example:3306", "db-c.example:3306", "db-d.example:3306"]


def test_ui_draws_tree_from_stub_api(browser, stub_factory, tmp_path):
    stub = stub_factory()
    got = load(browser, stub.base + "/?refresh=1")
    got = cards(browser)
    assert len(got) == 13, sorted(got)

    # Star: every replica nested under the master, master at the root.
    assert got[STAR[0]]["parent"] is None and got[STAR[0]]["role"] == "master"
    for k in STAR[1:]:
        assert got[k]["parent"] == STAR[0], got[k]
        assert got[k]["master"] == STAR[0]
    # Chain: each one nested under the previous one, any depth.
    for up, down in zip(CHAIN, CHAIN[1:]):
        assert got[down]["parent"] == up, got[down]
    assert got[CHAIN[1]]["role"] == "intermediate"
    # Co-masters: the ring is cut at the writable member, each drawn once; the orphan
    # (master not known) is shown at the top level.
    assert got["co-a.example:3306"]["parent"] is None
    assert got["co-b.example:3306"]["parent"] == "co-a.example:3306"
    assert got["co-c.example:3306"]["parent"] == "co-b.example:3306"
    assert got["dead.example:3306"]["parent"] == "co-a.example:3306"
    assert got["orphan.example:3306"]["parent"] is None
    assert "master not known" in got["orphan.example:3306"]["text"]

    # States, each with a text label (not colour alone).
    expect = {STAR[0]: "ok", STAR[1]: "ok", STAR[2]: "ok", STAR[3]: "problem",
              CHAIN[0]: "ok", CHAIN[2]: "problem", "co-c.example:3306": "problem",
              "dead.example:3306": "dead", "orphan.example:3306": "problem"}
    for k, st in expect.items():
        assert got[k]["state"] == st, (k, got[k])
        assert {"ok": "OK", "problem": "PROBLEM", "dead": "DEAD"}[st] in got[k]["text"]
    broken = got[STAR[3]]["text"]
    for label in ("SQL stopped", "not replicating", "Duplicate entry", "lag \u2014",
                  "analysis: BrokenReplicaSQLThread", "read_only", "10.11.6-MariaDB"):
        assert label in broken.replace("\n", " "), (label, broken)
    assert "lag 45s" in got[CHAIN[2]]["text"] and "replication lag" in got[CHAIN[2]]["text"]
    assert "errant GTID" in got["co-c.example:3306"]["text"]
    assert got[CHAIN[3]]["downtimed"] == "true" and "DOWNTIMED" in got[CHAIN[3]]["text"]
    assert "writable" in got[STAR[0]]["text"] and "check ok" in got[STAR[0]]["text"]
    assert "check failed" in got["dead.example:3306"]["text"]

    # Cluster header: alias, name, instance count, analysis finding.
    head = browser.execute_script(
        "return document.querySelector('[data-cluster=\"127.0.0.1:3306\"] > header').innerText")
    for part in ("main", "127.0.0.1:3306", "4 instances", "BrokenReplicaSQLThread"):
        assert part in head, (part, head)
    assert "every 1 s" in browser.find_element("id", "updated").text

    # Live refresh: stop a healthy replica's SQL thread; the UI marks it within a few
    # refreshes, and leaves untouched clusters' elements in place (no redraw, no flicker).
    browser.execute_script(
        "window.__probe = document.querySelector('[data-instance=\"db-a.example:3306\"]');")
    before = refreshes(browser)
    assert stub.get("/_stub/stop-sql/127.0.0.1/3308").status_code == 200
    wait_for(browser, lambda d: state_of(d, STAR[2]) == "problem", "3308 marked as a problem", 8)
    assert refreshes(browser) > before
    assert "SQL stopped" in cards(browser)[STAR[2]]["text"].replace("\n", " ")
    assert browser.execute_script("return window.__probe.isConnected")
    shot = tmp_path / "ui-stub.png"
    browser.set_window_size(1366, 1650)
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10000
    print("screenshot:", shot)

    # The same UI at /web/ and under a URL prefix, with API calls relative to it.
    for path in ("/web/", "/orc/", "/orc/web/"):
        got = load(browser, stub.base + path + "?refresh=1")
        assert len(got) == 13 and got[STAR[1]]["parent"] == STAR[0], path
    log = stub.get("/_stub/log").json()
    assert "/orc/api/clusters-info" in log and "/orc/api/all-instances" in log

    # API unreachable: a visible error banner, the last data kept on screen.
    banner = browser.find_element("id", "error")
    assert not banner.is_displayed()
    stub.stop()
    wait_for(browser, lambda d: d.find_element("id", "error").is_displayed(), "the error banner")
    assert "Cannot reach the orchestrator API" in banner.text
    assert browser.execute_script("return document.body.dataset.api") == "error"
    assert len(cards(browser)) == 13
    browser.save_screenshot(str(tmp_path / "ui-stub-down.png"))


def test_ui_tolerates_missing_analysis_route(browser, stub_factory):
    stub = stub_factory("--analysis", "404")
    got = load(browser, stub.base + "/")
    assert len(got) == 13
    assert got[STAR[3]]["state"] == "problem" and "analysis:" not in got[STAR[3]]["text"]
    assert not browser.find_element("id", "error").is_displayed()
    assert browser.execute_script("return document.body.dataset.api") == "ok"


# ---- test against the real service -------------------------------------------------------------

def wait_cluster(orc, master_key, count, timeout=30):
    """Waits until /api/cluster/<master_key> lists `count` instances; returns them."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            r = orc.get("/api/cluster/" + master_key, timeout=5)
            last = f"HTTP {r.status_code}: {r.text[:300]}"
            if r.status_code == 200:
                insts = r.json()
                if isinstance(insts, list) and len(insts) == count:
                    return insts
        except (requests.RequestException, ValueError) as exc:
            last = repr(exc)
        time.sleep(0.25)
    pytest.fail(f"/api/cluster/{master_key} never listed {count} instances in {timeout}s: "
                f"{last}\nlog:\n{orc.tail()}")


def test_ui_shows_every_instance_of_a_live_topology(star4, orc_factory, browser, tmp_path):
    star4.wait_replicating(timeout=20)
    master = star4.key(star4.master)
    replicas = {star4.key(n): n for n in star4.replicas}
    orc = orc_factory(sandbox=star4, DiscoverySeeds=[master])
    try:  # also ask for it explicitly: discovery may start sooner than the seeds are read
        orc.get(f"/api/discover/127.0.0.1/{star4.port(star4.master)}", timeout=5)
    except requests.RequestException:
        pass
    insts = wait_cluster(orc, master, 4)
    assert {f"{i['Key']['Hostname']}:{i['Key']['Port']}" for i in insts} == {master, *replicas}

    # The UI's files are served with types the browser accepts, at / and at /web/.
    for path, ctype in (("/", "text/html"), ("/web/", "text/html"), ("/app.js", "javascript"),
                        ("/web/app.js", "javascript"), ("/style.css", "text/css"),
                        ("/web/style.css", "text/css")):
        r = orc.get(path, timeout=5)
        assert r.status_code == 200 and ctype in r.headers.get("Content-Type", ""), (path, r)

    load(browser, orc.url("/?refresh=1"))
    wait_for(browser, lambda d: len(cards(d)) == 4 and
             all(c["state"] == "ok" for c in cards(d).values()),
             "the 4 instances of the star, all healthy", 20)
    got = cards(browser)
    assert got[master]["parent"] is None and got[master]["master"] == ""
    for k in replicas:
        assert got[k]["parent"] == master and got[k]["master"] == master, got[k]
        assert "SQL running" in got[k]["text"].replace("\n", " ")
    assert "writable" in got[master]["text"]

    # Stop one replica's SQL thread: marked as a problem within a few polls and refreshes.
    broken = sorted(replicas)[1]
    star4.sql(replicas[broken], "STOP SLAVE SQL_THREAD")
    wait_for(browser, lambda d: state_of(d, broken) == "problem",
             f"{broken} marked as a problem after STOP SLAVE SQL_THREAD", 15)
    got = cards(browser)
    assert "SQL stopped" in got[broken]["text"].replace("\n", " ")
    assert got[broken]["parent"] == master
    assert all(got[k]["state"] == "ok" for k in replicas if k != broken)
    shot = tmp_path / "ui-live.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10000
    print("screenshot:", shot)

    star4.sql(replicas[broken], "START SLAVE SQL_THREAD")
    wait_for(browser, lambda d: state_of(d, broken) == "ok", f"{broken} healthy again", 15)

    # The same UI at /web/.
    got = load(browser, orc.url("/web/?refresh=1"))
    wait_for(browser, lambda d: len(cards(d)) == 4, "the 4 instances at /web/")
    got = cards(browser)
    assert all(got[k]["parent"] == master for k in replicas)
    assert browser.execute_script("return document.body.dataset.api") == "ok"
