"""Installing: `make install` (PREFIX, DESTDIR) gives a service that starts with its installed
config, a systemd unit that systemd-analyze accepts, and `make deb` a package whose maintainer
scripts create the user and directories, honour policy-rc.d and remove cleanly."""
import json
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest
import requests

from orctest import REPO_ROOT, free_port, wait_until


def _make(*args, cwd=REPO_ROOT, timeout=600):
    proc = subprocess.run(["make", "--no-print-directory", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, f"make {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    root = tmp_path_factory.mktemp("destdir")
    _make("install", f"DESTDIR={root}", "PREFIX=/usr")
    return root


@pytest.fixture(scope="module")
def deb():
    out = _make("deb").stdout.strip().splitlines()[-1]
    path = REPO_ROOT / out
    assert path.is_file() and path.suffix == ".deb", out
    return path


def test_make_install_lays_out_binary_unit_config_and_data_dir(installed):
    root = installed
    assert _mode(root / "usr/bin/orchestrator") == 0o755
    assert _mode(root / "lib/systemd/system/orchestrator.service") == 0o644
    assert _mode(root / "etc/orchestrator.conf.json") == 0o640  # it may hold passwords
    assert (root / "etc/logrotate.d/orchestrator").is_file()
    for d in ("var/lib/orchestrator", "var/log/orchestrator"):
        assert (root / d).is_dir() and _mode(root / d) == 0o750
    unit = (root / "lib/systemd/system/orchestrator.service").read_text()
    assert "ExecStart=/usr/bin/orchestrator --config /etc/orchestrator.conf.json http" in unit
    conf = json.loads((root / "etc/orchestrator.conf.json").read_text())
    assert conf["ListenAddress"] == "127.0.0.1:3000"
    assert conf["SQLite3DataFile"].startswith("/var/lib/orchestrator/")
    # A second install keeps the operator's config.
    (root / "etc/orchestrator.conf.json").write_text(json.dumps(dict(conf, WebMessage="mine")))
    _make("install", f"DESTDIR={root}", "PREFIX=/usr")
    assert json.loads((root / "etc/orchestrator.conf.json").read_text())["WebMessage"] == "mine"
    (root / "etc/orchestrator.conf.json").write_text(json.dumps(conf))


def test_installed_binary_runs_with_the_installed_config(installed):
    root = installed
    binary = root / "usr/bin/orchestrator"
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10,
                             check=True).stdout.splitlines()
    header = (REPO_ROOT / "common/orc.h").read_text()
    assert version[0] == re.search(r'#define ORC_VERSION "([^"]+)"', header).group(1)
    commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO_ROOT,
                            capture_output=True, text=True, check=True).stdout.strip()
    assert version[1].startswith(commit), version
    port = free_port()
    data, logs = root / "var/lib/orchestrator", root / "var/log/orchestrator"
    # The installed config as is; only the paths outside DESTDIR and the port change.
    proc = subprocess.Popen(
        [binary, "--config", root / "etc/orchestrator.conf.json", f"--ListenAddress=127.0.0.1:{port}",
         f"--SQLite3DataFile={data}/orchestrator.sqlite3", "http"],
        env=dict(os.environ, ORC_LogFile=str(logs / "orchestrator.log")),
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        def healthy():
            r = requests.get(f"http://127.0.0.1:{port}/api/health", timeout=2)
            return r.status_code == 200 and r.json()["Details"]["Healthy"]
        wait_until(healthy, 15, what="/api/health of the installed service")
        assert (data / "orchestrator.sqlite3").is_file()
        assert "+service-started" in (logs / "orchestrator.log").read_text()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0, proc.stderr.read().decode()


def _verify(unit_path):
    return subprocess.run(["systemd-analyze", "verify", str(unit_path)], capture_output=True,
                          text=True, timeout=60, check=False)


def test_installed_unit_passes_systemd_analyze_verify(installed, tmp_path):
    unit = (installed / "lib/systemd/system/orchestrator.service").read_text()
    for directive in ("User=orchestrator", "ProtectSystem=strict", "ProtectHome=yes",
                      "NoNewPrivileges=yes", "PrivateTmp=yes", "CapabilityBoundingSet=\n",
                      "ReadWritePaths=/var/lib/orchestrator", "ExecReload=/bin/kill -HUP"):
        assert directive in unit, directive
    # verify checks that ExecStart's binary exists: point it at the DESTDIR copy, nothing else.
    binary = installed / "usr/bin/orchestrator"
    good = tmp_path / "good" / "orchestrator.service"
    good.parent.mkdir()
    good.write_text(unit.replace("/usr/bin/orchestrator", str(binary)))
    proc = _verify(good)
    assert proc.returncode == 0 and proc.stdout + proc.stderr == "", proc.stderr
    # The check can fail: a wrong value and a missing binary are both reported.
    bad = tmp_path / "bad" / "orchestrator.service"
    bad.parent.mkdir()
    bad.write_text(good.read_text().replace("ProtectSystem=strict", "ProtectSystem=stricter"))
    assert "stricter" in _verify(bad).stderr
    bad.write_text(unit.replace("/usr/bin/orchestrator", "/nonexistent/orchestrator"))
    assert _verify(bad).returncode != 0
    security = subprocess.run(["systemd-analyze", "security", "--offline=yes", str(good)],
                              capture_output=True, text=True, timeout=60, check=False)
    level = re.search(r"Overall exposure level for \S+: ([\d.]+)", security.stdout)
    assert level and float(level.group(1)) <= 2.5, security.stdout[-400:]


def test_a_tree_without_git_builds_with_an_unknown_commit(tmp_path):
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    copy = tmp_path / "src"
    for f in filter(None, files):
        dst = copy / f
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / f, dst)
    out = _make("build/release/orchestrator/main.o", cwd=copy, timeout=120).stdout
    assert "-DORC_GIT_COMMIT='\"unknown\"'" in out, out
    assert (copy / "build/release/orchestrator/main.o").is_file()


def test_deb_package_metadata_and_contents(deb):
    info = subprocess.run(["dpkg-deb", "--info", deb], capture_output=True, text=True,
                          check=True).stdout
    fields = dict(re.findall(r"^ (\w[\w-]*): (.*)$", info, re.MULTILINE))
    assert fields["Package"] == "orchestrator"
    assert deb.name == f"orchestrator_{fields['Version']}_{fields['Architecture']}.deb"
    depends = [d.strip() for d in fields["Depends"].split(",")]
    for pkg in ("adduser", "libraft2", "libmariadb3", "libmicrohttpd12", "libsqlite3-0"):
        assert pkg in depends, depends
    for script in ("postinst", "prerm", "postrm", "conffiles"):
        assert re.search(rf"^\s+\d+ bytes,\s+\d+ lines\s+\*?\s+{script}\b", info, re.M), script
    contents = subprocess.run(["dpkg-deb", "--contents", deb], capture_output=True, text=True,
                              check=True).stdout
    entries = {line.split()[-1]: line.split()[0] for line in contents.splitlines()}
    assert entries["./usr/bin/orchestrator"] == "-rwxr-xr-x"
    assert entries["./lib/systemd/system/orchestrator.service"] == "-rw-r--r--"
    assert entries["./etc/orchestrator.conf.json"] == "-rw-r-----"
    assert "./etc/logrotate.d/orchestrator" in entries
    assert "./usr/share/doc/orchestrator/README.md" in entries
    assert not any(p.startswith("./var/") for p in entries)  # made by postinst
    assert all(" root/root " in line for line in contents.splitlines())
    conffiles = subprocess.run(["dpkg-deb", "-I", deb, "conffiles"], capture_output=True,
                               text=True, check=True).stdout.split()
    assert conffiles == ["/etc/orchestrator.conf.json", "/etc/logrotate.d/orchestrator"]


STUB = """#!/bin/sh
echo "$(basename "$0") $*" >> "{log}"
{body}
"""


def _stub_bin(directory, log, policy_exit=None):
    """Stand-ins for the commands the maintainer scripts run, recording their arguments."""
    directory.mkdir()
    stubs = {"getent": "exit 2", "adduser": "", "deluser": "", "delgroup": "", "chown": "",
             "systemctl": ""}
    for name, body in stubs.items():
        path = directory / name
        path.write_text(STUB.format(log=log, body=body))
        path.chmod(0o755)


def _run_script(deb, tmp_path, script, args, policy_exit):
    control = tmp_path / "control"
    if not control.exists():
        subprocess.run(["dpkg-deb", "-e", deb, control], check=True)
    root = tmp_path / f"root-{policy_exit}"
    (root / "run/systemd/system").mkdir(parents=True, exist_ok=True)
    (root / "etc").mkdir(exist_ok=True)
    (root / "etc/orchestrator.conf.json").write_text("{}")
    if policy_exit is not None:
        policy = root / "usr/sbin/policy-rc.d"
        policy.parent.mkdir(parents=True, exist_ok=True)
        policy.write_text(f"#!/bin/sh\nexit {policy_exit}\n")
        policy.chmod(0o755)
    log = tmp_path / f"calls-{policy_exit}.log"
    stubs = tmp_path / f"bin-{policy_exit}"
    if not stubs.exists():
        _stub_bin(stubs, log)
    env = dict(os.environ, DPKG_ROOT=str(root), PATH=f"{stubs}:{os.environ['PATH']}")
    proc = subprocess.run([control / script, *args], env=env, capture_output=True, text=True,
                          timeout=30, check=False)
    assert proc.returncode == 0, proc.stderr
    return root, (log.read_text() if log.exists() else ""), proc.stderr


def test_deb_postinst_honours_policy_rc_d(deb, tmp_path):
    root, calls, err = _run_script(deb, tmp_path, "postinst", ["configure", ""], 101)
    assert "adduser --system --group" in calls  # the user did not exist (getent said so)
    assert "chown orchestrator:orchestrator" in calls
    for d in ("var/lib/orchestrator", "var/log/orchestrator"):
        assert _mode(root / d) == 0o750
    assert "systemctl enable orchestrator.service" in calls
    assert "systemctl start" not in calls and "restart" not in calls
    assert "policy-rc.d forbids" in err
    _, allowed, _ = _run_script(deb, tmp_path, "postinst", ["configure", ""], None)
    assert "systemctl start orchestrator.service" in allowed
    # purge removes the directories and the user; remove keeps them.
    root, _, _ = _run_script(deb, tmp_path, "postrm", ["remove"], 101)
    assert (root / "var/lib/orchestrator").is_dir()
    root, _, _ = _run_script(deb, tmp_path, "postrm", ["purge"], 101)
    assert not (root / "var/lib/orchestrator").exists()
    assert not (root / "var/log/orchestrator").exists()
    _, stopped, _ = _run_script(deb, tmp_path, "prerm", ["remove"], 101)
    assert "systemctl stop orchestrator.service" in stopped


def _dpkg(*args):
    """dpkg, waiting for the lock when another apt/dpkg holds it."""
    deadline = time.monotonic() + 120
    while True:
        proc = subprocess.run(["dpkg", *args], capture_output=True, text=True, timeout=300,
                              env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        if proc.returncode == 0 or "lock" not in proc.stderr or time.monotonic() > deadline:
            return proc
        time.sleep(2)


def _user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def test_deb_installs_and_purges_on_this_machine(deb):
    if os.geteuid() != 0:
        pytest.skip("needs root to install a package")
    status = subprocess.run(["dpkg-query", "-W", "-f=${Status}", "orchestrator"],
                            capture_output=True, text=True, check=False).stdout
    if "installed" in status or _user_exists("orchestrator") or Path("/usr/bin/orchestrator").exists():
        pytest.skip("an orchestrator package, user or binary is already on this machine")
    try:
        proc = _dpkg("-i", str(deb))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        user = pwd.getpwnam("orchestrator")
        assert user.pw_dir == "/var/lib/orchestrator" and user.pw_shell == "/usr/sbin/nologin"
        for d in ("/var/lib/orchestrator", "/var/log/orchestrator"):
            st = os.stat(d)
            assert st.st_uid == user.pw_uid and stat.S_IMODE(st.st_mode) == 0o750
        conf = os.stat("/etc/orchestrator.conf.json")
        assert conf.st_uid == 0 and conf.st_gid == user.pw_gid
        assert stat.S_IMODE(conf.st_mode) == 0o640
        out = subprocess.run(["/usr/bin/orchestrator", "--version"], capture_output=True,
                             text=True, check=True).stdout
        assert out.strip()
        # No systemd here (and policy-rc.d may forbid it): nothing was started.
        exes = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                exes.append(os.readlink(f"/proc/{pid}/exe"))
            except OSError:
                pass
        assert "/usr/bin/orchestrator" not in exes
    finally:
        purge = _dpkg("-P", "orchestrator")
    assert purge.returncode == 0, purge.stdout + purge.stderr
    assert not _user_exists("orchestrator")
    for path in ("/usr/bin/orchestrator", "/etc/orchestrator.conf.json", "/var/lib/orchestrator",
                 "/var/log/orchestrator", "/lib/systemd/system/orchestrator.service",
                 "/etc/logrotate.d/orchestrator"):
        assert not os.path.exists(path), path
