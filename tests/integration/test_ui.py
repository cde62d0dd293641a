"""Browser tests of the web UI (web/ui/), in Debian's headless Chromium via chromedriver.

The stub tests run the UI against uidev/stub_server.py (canned orchestrator-shaped JSON), so
they check the UI alone: tree nesting, problem marking, live refresh, URL prefixes, the error
banner, deep links and back/forward, and the dashboard's speed with 100 generated clusters of
10 instances. test_ui_operates_a_live_topology_from_a_follower runs it against three real
orchestrator nodes (raft, basic auth) watching a real 4-node MariaDB star, with the browser on
a follower: drag-and-drop relocation, stop/start replication from the instance panel, a
graceful takeover and its recovery acknowledged, the read-only user, and forged requests.
Screenshots of every page are kept under the pytest basetemp (their paths are printed).
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest
import requests

from selenium import webdriver
from selenium.common.exceptions import (NoSuchElementException, StaleElementReferenceException,
                                        WebDriverException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys
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
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
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
    """Polls predicate(drv) until truthy (returned); fails with `what` after timeout. An element
    that the page re-rendered between finding and reading it (stale), or that is not drawn yet,
    is looked for again at the next poll."""
    try:
        return WebDriverWait(drv, timeout, poll_frequency=0.1,
                             ignored_exceptions=(StaleElementReferenceException,
                                                 NoSuchElementException)).until(
                                                     lambda d: predicate(d))
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



def shoot(drv, tmp_path, name):
    """Screenshot of the whole page (window grown to its height) under the test's tmp_path."""
    height = drv.execute_script("return Math.max(document.documentElement.scrollHeight, 900)")
    drv.set_window_size(1366, min(int(height), 4000))
    shot = tmp_path / f"ui-{name}.png"
    drv.save_screenshot(str(shot))
    drv.set_window_size(1366, 900)
    assert shot.stat().st_size > 5000, shot
    print("screenshot:", shot)
    return shot


def test_ui_deep_links_and_back_forward(browser, stub_factory, tmp_path):
    stub = stub_factory()
    # A deep link straight to an instance: its cluster alone, the panel open on it.
    browser.get(stub.base + "/?refresh=0#/cluster/127.0.0.1%3A3306/127.0.0.1%3A3309")
    wait_for(browser, lambda d: refreshes(d) >= 1, "a first refresh")
    panel = browser.find_element("id", "panel")
    wait_for(browser, lambda d: panel.is_displayed() and "127.0.0.1:3309" in panel.text, "the panel")
    assert "Duplicate entry" in panel.text and "SQL stopped" in panel.text
    assert set(cards(browser)) == set(STAR)
    assert browser.execute_script(
        "return document.querySelector('[data-instance=\"127.0.0.1:3309\"]').classList"
        ".contains('selected')")
    # A writer is offered the actions that fit a replica, each naming what it changes.
    acts = browser.execute_script(
        "return Array.from(document.querySelectorAll('#panel [data-action]'))"
        ".map((b) => b.dataset.action)")
    for a in ("stop-replica", "start-replica", "skip-query", "set-writeable", "begin-downtime",
              "register-candidate", "relocate", "graceful-master-takeover", "forget"):
        assert a in acts, (a, acts)
    assert "set-read-only" not in acts and "end-downtime" not in acts

    # Navigate by clicks: a card of another cluster from the dashboard, then a page.
    browser.find_element("css selector", '[data-nav="dashboard"]').click()
    wait_for(browser, lambda d: len(cards(d)) == 13, "the dashboard with every cluster")
    assert not panel.is_displayed()
    browser.find_element("css selector", '[data-instance="db-c.example:3306"] .key').click()
    wait_for(browser, lambda d: "db-c.example:3306" in panel.text, "the panel of db-c")
    assert browser.current_url.endswith("#/cluster/db-a.example%3A3306/db-c.example%3A3306")
    browser.find_element("css selector", '[data-nav="audit"]').click()
    wait_for(browser, lambda d: d.execute_script("return document.body.dataset.page") == "audit",
             "the audit page")
    # Back: the instance again; back: the dashboard; forward twice: the audit page.
    browser.back()
    wait_for(browser, lambda d: panel.is_displayed() and "db-c.example:3306" in panel.text,
             "the panel of db-c after Back")
    browser.back()
    wait_for(browser, lambda d: d.execute_script("return document.body.dataset.page") ==
             "dashboard" and not panel.is_displayed(), "the dashboard after Back")
    browser.forward()
    browser.forward()
    wait_for(browser, lambda d: d.execute_script("return document.body.dataset.page") == "audit",
             "the audit page after Forward")

    # Keyboard: Tab reaches a card, Enter opens it, Escape closes the panel.
    browser.get(stub.base + "/?refresh=0#/cluster/db-a.example%3A3306")
    wait_for(browser, lambda d: len(cards(d)) == 4, "the chain cluster")
    body = browser.find_element("css selector", "body")
    for _ in range(40):
        body = browser.switch_to.active_element
        if body.get_attribute("data-instance"):
            break
        body.send_keys(Keys.TAB)
    first = browser.switch_to.active_element.get_attribute("data-instance")
    assert first == "db-a.example:3306", first
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    wait_for(browser, lambda d: "db-a.example:3306" in panel.text, "the panel opened by Enter")
    browser.switch_to.active_element.send_keys(Keys.ESCAPE)
    wait_for(browser, lambda d: not panel.is_displayed(), "the panel closed by Escape")

    # An action the server does not have: its error is shown, nothing else breaks.
    browser.get(stub.base + "/?refresh=0#/cluster/127.0.0.1%3A3306/127.0.0.1%3A3307")
    wait_for(browser, lambda d: "127.0.0.1:3307" in panel.text, "the panel of 3307")
    browser.find_element("css selector", '#panel [data-action="restart-replica"]').click()
    dialog = browser.find_element("id", "confirm")
    assert dialog.is_displayed() and "127.0.0.1:3307" in dialog.text
    browser.find_element("id", "confirm-ok").click()
    wait_for(browser, lambda d: "unknown route" in d.find_element("id", "notices").text,
             "the API's error for a missing route")
    assert "/api/restart-replica/127.0.0.1/3307" in stub.get("/_stub/log").json()

    # The replicas handle: onto one of those replicas is refused at once; onto another
    # instance it asks can-replicate-from (absent here: allowed, the relocation decides), and
    # the confirmed move calls relocate-replicas (absent here too: its error is shown).
    browser.get(stub.base + "/?refresh=0")
    wait_for(browser, lambda d: len(cards(d)) == 13, "the dashboard")
    handle = '[data-instance="db-b.example:3306"] [data-drag="replicas"]'
    assert drag(browser, handle, '[data-instance="db-d.example:3306"]') == "bad"
    ActionChains(browser).release().perform()
    wait_notice(browser, "relocate")
    assert drag(browser, handle, '[data-instance="db-a.example:3306"]') == "ok"
    ActionChains(browser).release().perform()
    confirm(browser, "db-c.example:3306", "below db-a.example:3306")
    result, text = wait_notice(browser, "relocate-replicas")
    assert result == "error" and "unknown route" in text, text
    log = stub.get("/_stub/log").json()
    assert "/api/can-replicate-from/db-c.example/3306/db-a.example/3306" in log
    assert "/api/relocate-replicas/db-b.example/3306/db-a.example/3306" in log


def test_ui_dashboard_with_100_clusters_and_1000_instances(browser, stub_factory, tmp_path):
    stub = stub_factory("--fleet", "100:10")
    browser.get(stub.base + "/?refresh=0")
    wait_for(browser, lambda d: refreshes(d) >= 1, "a first refresh of the big fleet", 20)
    first_ms = float(browser.execute_script("return document.body.dataset.firstRender"))
    render_ms = float(browser.execute_script("return document.body.dataset.renderMs"))
    summary = browser.find_element("id", "summary").text
    assert "103 clusters" in summary and "1013 instances" in summary, summary
    n = browser.execute_script("return document.querySelectorAll('section.cluster').length")
    assert n == 103
    # Collapsed: headers only, no instance card drawn yet.
    assert len(cards(browser)) == 0
    print(f"100 clusters / 1,000 instances: first render {first_ms:.0f} ms after navigation "
          f"start (fetch + parse + draw), drawing {render_ms:.1f} ms")
    assert first_ms < 1000, first_ms
    head = browser.execute_script(
        "return document.querySelector('[data-cluster=\"gen-003-0.example:3306\"]').innerText")
    for part in ("app003", "10 instances", "1 with problems", "no auto-recovery"):
        assert part in head, (part, head)
    shoot(browser, tmp_path, "dashboard-1000")

    # Filter, then expand one cluster with the keyboard.
    f = browser.find_element("id", "filter")
    f.send_keys("app042")
    wait_for(browser, lambda d: d.execute_script(
        "return document.querySelectorAll('section.cluster').length") == 1, "one cluster left")
    toggle = browser.find_element("css selector", '[data-toggle="gen-042-0.example:3306"]')
    toggle.send_keys(Keys.ENTER)
    wait_for(browser, lambda d: len(cards(d)) == 10, "the 10 cards of app042")
    got = cards(browser)
    assert got["gen-042-5.example:3306"]["parent"] == "gen-042-2.example:3306"
    # Everything expanded: 1,013 cards, still drawn fast.
    f.send_keys(Keys.CONTROL, "a")
    f.send_keys(Keys.BACKSPACE)
    browser.find_element("id", "expand-all").click()
    wait_for(browser, lambda d: len(cards(d)) == 1013, "every card", 20)
    expand_ms = float(browser.execute_script("return document.body.dataset.renderMs"))
    # The page answers input while every tree is drawn: the next frame comes quickly.
    frame_ms = browser.execute_async_script("""
      const done = arguments[arguments.length - 1], t0 = performance.now();
      document.documentElement.scrollTop = document.documentElement.scrollHeight / 2;
      requestAnimationFrame(() => requestAnimationFrame(() => done(performance.now() - t0)));""")
    print(f"expand all (1,013 cards): drawn in {expand_ms:.0f} ms; a scroll to the middle is "
          f"painted in {frame_ms:.0f} ms")
    assert frame_ms < 500, frame_ms
    # Far below, not painted yet, but in the page (find-in-page, screen readers).
    far = browser.execute_script(
        "return document.querySelector('[data-instance=\"gen-094-9.example:3306\"]').textContent")
    assert "SQLstopped" in far.replace(" ", ""), far


# ---- test against the real service -------------------------------------------------------------

ADMIN = ("admin", "ui-test-pw")


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


def login(drv, user, password):
    """Every request of the page carries HTTP basic credentials (as a browser that was asked
    for them once does)."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    drv.execute_cdp_cmd("Network.enable", {})
    drv.execute_cdp_cmd("Network.setExtraHTTPHeaders",
                        {"headers": {"Authorization": "Basic " + token}})


def confirm(drv, *expect):
    """Checks the confirmation names what changes, then confirms."""
    dialog = drv.find_element("id", "confirm")
    wait_for(drv, lambda d: dialog.is_displayed(), "the confirmation dialog")
    for part in expect:
        assert part in dialog.text, (part, dialog.text)
    drv.find_element("id", "confirm-ok").click()


def wait_notice(drv, action, timeout=WAIT_TIMEOUT):
    """The result the API gave for action (newest notice): returns (result, text)."""
    got = wait_for(drv, lambda d: d.execute_script(
        "const n = document.querySelector(`#notices [data-action=\"${arguments[0]}\"]`);"
        "return n ? [n.dataset.result, n.innerText] : null;", action),
        f"the answer to {action}", timeout)
    drv.execute_script("document.getElementById('notices').replaceChildren()")
    return got


def master_port(sb, name):
    st = sb.slave_status(name)
    return int(st["Master_Port"]) if st else None


def threads(sb, name):
    st = sb.slave_status(name)
    return st["Slave_IO_Running"], st["Slave_SQL_Running"]


def drag(drv, src_css, dst_css):
    """Presses on src, moves onto dst (without releasing); returns dst's verdict once known."""
    src = drv.find_element("css selector", src_css)
    dst = drv.find_element("css selector", dst_css)
    ActionChains(drv).move_to_element(src).click_and_hold().move_by_offset(12, 12) \
        .move_to_element(dst).move_by_offset(2, 2).perform()
    return wait_for(drv, lambda d: d.execute_script(
        "const v = arguments[0].dataset.drop; return v && v !== 'checking' ? v : null;", dst),
        "the drop target's verdict")


def network_statuses(drv, fragment):
    """HTTP statuses Chromium received for URLs containing fragment (performance log)."""
    out = []
    for entry in drv.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.responseReceived":
            resp = msg["params"]["response"]
            if fragment in resp["url"]:
                out.append(resp["status"])
    return out


def test_ui_operates_a_live_topology_from_a_follower(star4, raft_factory, stub_factory, browser,
                                                    tmp_path):
    star4.wait_replicating(timeout=20)
    master = star4.key(star4.master)
    names = {star4.key(n): n for n in star4.names}
    r1, r2, r3 = sorted(star4.replicas)
    k1, k2, k3 = (star4.key(n) for n in (r1, r2, r3))
    user, password = star4.credentials("repl")
    cluster = raft_factory(3, sandbox=star4, DiscoverySeeds=[master],
                           ReplicationCredentialsQuery=f"SELECT '{user}', '{password}', '', '', ''",
                           AuthenticationMethod="multi", HTTPAuthUser=ADMIN[0],
                           HTTPAuthPassword=ADMIN[1])
    for node in cluster.nodes:
        node.http_kw["auth"] = ADMIN
    leader = cluster.wait_leader(timeout=20)
    follower = cluster.followers(leader)[0]
    insts = wait_cluster(follower, master, 4)
    assert {f"{i['Key']['Hostname']}:{i['Key']['Port']}" for i in insts} == set(names)

    # The UI's files are served with types the browser accepts, at / and at /web/.
    for path, ctype in (("/", "text/html"), ("/web/", "text/html"), ("/app.js", "javascript"),
                        ("/web/style.css", "text/css")):
        r = follower.get(path, timeout=5)
        assert r.status_code == 200 and ctype in r.headers.get("Content-Type", ""), (path, r)

    # The page comes from a follower; its writes are proxied to the leader.
    login(browser, *ADMIN)
    load(browser, follower.url("/?refresh=1"))
    wait_for(browser, lambda d: len(cards(d)) == 4 and
             all(c["state"] == "ok" for c in cards(d).values()),
             "the 4 instances of the star, all healthy", 20)
    assert browser.execute_script("return document.body.dataset.canWrite") == "true"
    got = cards(browser)
    assert got[master]["parent"] is None and got[master]["master"] == ""
    for k in (k1, k2, k3):
        assert got[k]["parent"] == master and "SQL running" in got[k]["text"].replace("\n", " ")
    shoot(browser, tmp_path, "dashboard")

    # Drag and drop: master onto one of its replicas is refused before release...
    cl = "#/cluster/" + requests.utils.quote(master, safe="")
    browser.get(follower.url("/?refresh=1" + cl))
    wait_for(browser, lambda d: len(cards(d)) == 4, "the cluster page")
    verdict = drag(browser, f'[data-instance="{master}"] .key', f'[data-instance="{k1}"]')
    assert verdict == "bad"
    ActionChains(browser).release().perform()
    result, text = wait_notice(browser, "relocate")
    assert result == "error" and "Cannot move" in text
    assert not browser.find_element("id", "confirm").is_displayed()
    # ...and r3 onto r2 is allowed: after confirming, r3 replicates from r2 (SQL) and the
    # tree shows it there.
    verdict = drag(browser, f'[data-instance="{k3}"] .key', f'[data-instance="{k2}"]')
    assert verdict == "ok"
    browser.save_screenshot(str(tmp_path / "ui-drag.png"))
    print("screenshot:", tmp_path / "ui-drag.png")
    ActionChains(browser).release().perform()
    confirm(browser, k3, f"below {k2}")
    result, text = wait_notice(browser, "relocate", 60)
    assert result == "ok", text
    assert master_port(star4, r3) == star4.port(r2)
    assert threads(star4, r3) == ("Yes", "Yes")
    wait_for(browser, lambda d: cards(d)[k3]["parent"] == k2, f"{k3} drawn below {k2}", 15)

    # A cluster action with a value: the alias, shown in the header at once.
    browser.find_element("css selector", '[data-action="set-cluster-alias"]').click()
    field = browser.find_element("css selector", '#confirm-fields input[name="alias"]')
    field.clear()
    field.send_keys("ui-main")
    confirm(browser, f"alias of cluster {master}")
    result, text = wait_notice(browser, "set-cluster-alias", 30)
    assert result == "ok", text
    wait_for(browser, lambda d: "ui-main" in d.find_element(
        "css selector", f'[data-cluster="{master}"] > header').text, "the new alias")
    assert leader.api(f"cluster-info/{master}")["ClusterAlias"] == "ui-main"

    # Stop and start replication from the instance panel.
    browser.find_element("css selector", f'[data-instance="{k1}"] .key').click()
    panel = browser.find_element("id", "panel")
    wait_for(browser, lambda d: k1 in panel.text, "the panel of r1")
    shoot(browser, tmp_path, "instance")
    panel.find_element("css selector", '[data-action="stop-replica"]').click()
    confirm(browser, "Stop replication", k1, master)
    result, text = wait_notice(browser, "stop-replica", 30)
    assert result == "ok", text
    assert threads(star4, r1) == ("No", "No")
    wait_for(browser, lambda d: state_of(d, k1) == "problem", "r1 marked as a problem", 15)
    panel.find_element("css selector", '[data-action="start-replica"]').click()
    confirm(browser, "Start replication", k1)
    result, text = wait_notice(browser, "start-replica", 30)
    assert result == "ok", text
    assert threads(star4, r1) == ("Yes", "Yes")
    wait_for(browser, lambda d: state_of(d, k1) == "ok", "r1 healthy again", 15)

    # A graceful takeover to r1 from its panel; then its recovery is acknowledged from the
    # recoveries page.
    panel.find_element("css selector", '[data-action="graceful-master-takeover"]').click()
    confirm(browser, k1, "becomes the master")
    result, text = wait_notice(browser, "graceful-master-takeover", 90)
    assert result == "ok", text
    assert star4.sql_value(r1, "SELECT @@read_only") == 0
    browser.get(follower.url("/?refresh=1#/recoveries"))
    row = f'[data-recovery][data-acknowledged="false"]'
    wait_for(browser, lambda d: d.find_elements("css selector", row), "an unacknowledged recovery")
    uid = browser.execute_script(
        "return document.querySelector(arguments[0]).dataset.recovery", row)
    shoot(browser, tmp_path, "recoveries")
    browser.find_element("css selector", f'[data-uid="{uid}"]').click()
    confirm(browser, "Acknowledge")
    result, text = wait_notice(browser, "ack-recovery", 30)
    assert result == "ok", text
    recs = leader.api(f"audit-recovery/uid/{uid}")
    assert recs and recs[0]["Acknowledged"] is True, recs
    assert recs[0]["AcknowledgedComment"] == "acknowledged from the web UI"
    wait_for(browser, lambda d: d.find_element(
        "css selector", f'[data-recovery="{uid}"]').get_attribute("data-acknowledged") == "true",
        "the row shown acknowledged")

    # The other pages, each drawn from the live service.
    for page, text in (("detections", "Failure detections"), ("audit", "Audit"),
                       ("manager", "Raft members"), ("discover", "Discover an instance"),
                       ("search/" + str(star4.port(r2)), k2)):
        browser.get(follower.url("/?refresh=1#/" + page))
        wait_for(browser, lambda d: text in d.find_element("id", "page").text, f"the {page} page")
        shoot(browser, tmp_path, page.split("/")[0])
        if page == "discover":  # the form: an instance the service knows already
            browser.find_element("id", "discover-host").send_keys("127.0.0.1")
            port = browser.find_element("id", "discover-port")
            port.clear()
            port.send_keys(str(star4.port(r2)) + Keys.ENTER)
            confirm(browser, f"Probe {k2}")
            result, text = wait_notice(browser, "discover", 30)
            assert result == "ok", text
    browser.get(follower.url("/?refresh=1#/manager"))
    wait_for(browser, lambda d: len(d.find_elements("css selector", "[data-member]")) == 3,
             "three raft members")
    # read in one script: the page redraws every second, and an element found in one call can
    # be gone by the next
    roles = browser.execute_script(
        "return [...document.querySelectorAll('[data-member]')]"
        ".map(r => r.querySelectorAll('td')[1].innerText)")
    assert sorted(roles) == ["follower", "follower (this node)", "leader"], roles
    # The leader's view says which members it reaches.
    browser.get(leader.url("/?refresh=1#/manager"))
    wait_for(browser, lambda d: sum(e.text.endswith("yes") for e in d.find_elements(
        "css selector", "[data-member]")) == 3, "three members reached by the leader")
    shoot(browser, tmp_path, "manager-leader")

    # whoami: what the UI asks before offering actions (answered by the node itself).
    assert follower.api("whoami")["CanWrite"] is True
    assert follower.api("whoami", auth=("readonly", "x"))["CanWrite"] is False
    assert follower.get("/api/whoami", auth=None).status_code == 401

    # A read-only user sees no action controls anywhere.
    login(browser, "readonly", "anything")
    # (after the takeover the cluster is named for its new master: link to the instance)
    browser.get(follower.url("/?refresh=1&as=readonly#/instance/" + k2))
    wait_for(browser, lambda d: d.execute_script("return document.body.dataset.canWrite")
             == "false" and refreshes(d) >= 1, "the read-only session")
    panel = browser.find_element("id", "panel")
    wait_for(browser, lambda d: len(cards(d)) == 4 and k2 in panel.text, "the read-only panel")
    assert "Read-only access" in panel.text
    controls = ("return Array.from(document.querySelectorAll('[data-action], [data-drag], "
                "#confirm[open], #discover-form')).map((e) => e.outerHTML.slice(0, 120))")
    assert browser.execute_script(controls) == []
    shoot(browser, tmp_path, "readonly")
    browser.get(follower.url("/?refresh=1&as=readonly#/recoveries"))
    wait_for(browser, lambda d: d.find_elements("css selector", "[data-recovery]"), "recoveries")
    assert browser.execute_script(controls) == []
    browser.get(follower.url("/?refresh=1&as=readonly#/discover"))
    wait_for(browser, lambda d: "needs write rights" in d.find_element("id", "page").text,
             "the discover page without its form")
    assert browser.execute_script(controls) == []
    # The server refuses it a write anyway.
    stop = f"/api/stop-replica/127.0.0.1/{star4.port(r2)}"
    assert follower.get(stop, auth=("readonly", "x")).status_code == 403

    # Forged: a page of another origin (the stub, another port) makes the admin's browser
    # send a write. The server refuses it; the replica keeps replicating.
    login(browser, *ADMIN)
    evil = stub_factory()
    browser.get(evil.base + "/?refresh=0")
    browser.get_log("performance")
    out = browser.execute_async_script("""
      const done = arguments[arguments.length - 1];
      fetch(arguments[0], {method: 'POST', mode: 'no-cors', credentials: 'include'})
        .then(() => done('sent'), (e) => done('error ' + e));""", follower.url(stop))
    assert out == "sent"
    assert wait_for(browser, lambda d: network_statuses(d, "/api/stop-replica/") or None,
                    "the forged request's answer") == [403]
    time.sleep(1)
    assert threads(star4, r2) == ("Yes", "Yes")
    # Without what the server requires of browsers (same origin), a write is refused; the
    # same write without any browser marker (orchestrator-client, curl) is served.
    for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"},
                    {"Sec-Fetch-Site": "same-site"}, {"Referer": "http://evil.example/x"}):
        r = follower.post(stop, headers=headers)
        assert r.status_code == 403 and "cross-site" in r.text, (headers, r.text)
    assert threads(star4, r2) == ("Yes", "Yes")
    r = follower.get(f"/api/start-replica/127.0.0.1/{star4.port(r2)}")
    assert r.status_code == 200, r.text
