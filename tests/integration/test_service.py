"""The orchestrator service process: clean start and stop, and refusal of a broken config."""
import subprocess
import time

from orctest import STARTED_EVENT, STOPPED_EVENT, event_regex, free_port


def test_http_service_starts_and_stops_cleanly(orc_factory):
    orc = orc_factory()
    assert orc.running
    assert event_regex(STARTED_EVENT, "NOTICE").search(orc.log), orc.tail()
    t0 = time.monotonic()
    code = orc.stop(timeout=5)
    elapsed = time.monotonic() - t0
    assert not orc.stopped_by_kill, f"still running 5 s after SIGTERM; log:\n{orc.tail()}"
    assert code == 0, f"exit code {code}; log:\n{orc.tail()}"
    assert elapsed < 5
    assert event_regex(STOPPED_EVENT, "NOTICE").search(orc.log), orc.tail()


BROKEN_CONFIG = """{
  "ListenAddress": "127.0.0.1:%d",
  "InstancePollSeconds": 1,,
  "BackendDB": "sqlite"
}
"""


def test_malformed_config_is_refused_with_position(orc_bin, tmp_path):
    path = tmp_path / "broken.conf.json"
    path.write_text(BROKEN_CONFIG % free_port())
    proc = subprocess.run([orc_bin, "--config", str(path), "http"], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=10, check=False)
    assert proc.returncode != 0
    # The second comma of line 3 is the first character that cannot be JSON (1-based column).
    assert f"{path}:3:28" in proc.stderr, proc.stderr
    assert not event_regex(STARTED_EVENT).search(proc.stderr + proc.stdout)


def test_listen_socket_serves_the_api_on_a_unix_socket(orc_factory, tmp_path):
    import subprocess
    sock = tmp_path / "orc.sock"
    orc = orc_factory(ListenSocket=str(sock))
    out = subprocess.run(["curl", "-s", "--max-time", "5", "--unix-socket", str(sock),
                          "http://localhost/api/lb-check"], capture_output=True, text=True,
                         timeout=10)
    assert out.stdout.strip() == '"OK"'
    assert orc.stop() == 0
    assert not sock.exists()


def test_second_service_on_the_same_port_refuses_to_start(orc_factory):
    first = orc_factory()
    second = orc_factory(start=False, ListenAddress=first.config["ListenAddress"])
    second.start(wait=False)
    deadline = time.monotonic() + 10
    while second.running and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not second.running and second.returncode != 0
    assert "cannot start the HTTP server" in second.log
    assert first.get("/api/lb-check").status_code == 200
