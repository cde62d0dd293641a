"""Discovery against servers that accept and never answer, and the races it invites: a
forget while a probe of the same instance is running (or being waited for) frees nothing that
is still in use, and the service stays healthy."""
import socket
import threading
import time

from orctest import wait_until


class HungServer:
    """Accepts TCP connections on 127.0.0.1 and never sends a byte (a frozen mysqld)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.stopping = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        self.sock.settimeout(0.2)
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
                self.conns.append(c)
            except OSError:
                continue

    def close(self):
        self.stopping = True
        self.thread.join(timeout=2)
        for c in self.conns:
            c.close()
        self.sock.close()


def test_forget_during_a_hung_probe_is_safe(star4, orc_factory):
    sb = star4
    orc = orc_factory(sandbox=sb, DiscoverySeeds=[sb.key(sb.master)])
    master = sb.key(sb.master)
    wait_until(lambda: len(orc.api(f"cluster/{master}")) == 4, 10, what="topology discovered")
    hung = HungServer()
    try:
        for _ in range(5):
            answers = {}

            def discover():
                answers["d"] = orc.get(f"/api/discover/127.0.0.1/{hung.port}", timeout=30)
            t = threading.Thread(target=discover)
            t.start()
            time.sleep(0.3)  # the probe is waiting for the server's greeting
            f = orc.get(f"/api/forget/127.0.0.1/{hung.port}", timeout=10)
            t.join(timeout=30)
            assert not t.is_alive()
            d = answers["d"]
            assert d.status_code >= 400, d.text
            assert f.status_code in (200, 404, 500), f.text
            assert orc.running
        # the rest of the topology is still served and polled
        assert orc.get("/api/health", timeout=5).status_code == 200
        assert len(orc.api(f"cluster/{master}")) == 4
        assert f"127.0.0.1:{hung.port}" not in [
            f'{i["Key"]["Hostname"]}:{i["Key"]["Port"]}' for i in orc.api(f"cluster/{master}")]
    finally:
        hung.close()
