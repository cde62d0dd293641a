"""scripts/deps.sh on its both paths, with fake apt-get and dpkg-query first on PATH.

The fakes keep the "installed" packages in a state file; apt-get records every call and whether
the policy-rc.d file existed while it ran, so the tests see what a real install would do without
touching the machine's packages.
"""
import os
import stat
import subprocess
from pathlib import Path

from orctest.sandbox import REPO_ROOT

DEPS = REPO_ROOT / "scripts" / "deps.sh"

FAKE_DPKG_QUERY = """#!/bin/sh
# dpkg-query -W -f='${Status}' PKG
for last; do :; done
if grep -qx "$last" "$FAKE_STATE" 2>/dev/null; then
  printf 'install ok installed'
  exit 0
fi
echo "dpkg-query: no packages found matching $last" >&2
exit 1
"""

FAKE_APT_GET = """#!/bin/sh
policy=absent
[ -e "$DEPS_POLICY_RC" ] && policy=present
echo "$* policy=$policy" >> "$FAKE_LOG"
[ "$1" = update ] && exit 0
[ -n "$FAKE_APT_FAIL" ] && exit 100
for p; do
  case "$p" in -*|install) ;; *) [ "$p" = "$FAKE_APT_SKIP" ] || echo "$p" >> "$FAKE_STATE" ;; esac
done
exit 0
"""


def _setup(tmp_path, installed, policy_present):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name, text in (("dpkg-query", FAKE_DPKG_QUERY), ("apt-get", FAKE_APT_GET)):
        path = bindir / name
        path.write_text(text)
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    state = tmp_path / "installed"
    state.write_text("".join(p + "\n" for p in installed))
    policy = tmp_path / "policy-rc.d"
    if policy_present:
        policy.write_text("#!/bin/sh\n# the machine's own\nexit 101\n")
    env = dict(os.environ)
    env.update(
        PATH=f"{bindir}:{env['PATH']}",
        FAKE_STATE=str(state),
        FAKE_LOG=str(tmp_path / "apt.log"),
        FAKE_APT_FAIL="",
        FAKE_APT_SKIP="",
        DEPS_POLICY_RC=str(policy),
        DEPS_PKGS="pkg-a pkg-b pkg-c",
    )
    return env, policy, tmp_path / "apt.log"


def _run(env):
    return subprocess.run(["bash", str(DEPS)], env=env, capture_output=True, text=True, timeout=60)


def _installed(env):
    return Path(env["FAKE_STATE"]).read_text().split()


def test_deps_all_present_is_a_no_op(tmp_path):
    env, policy, log = _setup(tmp_path, ["pkg-a", "pkg-b", "pkg-c"], policy_present=False)
    r = _run(env)
    assert r.returncode == 0, r.stderr
    assert not log.exists(), "apt-get must not run when nothing is missing"
    assert not policy.exists()


def test_deps_installs_missing_with_existing_policy_file(tmp_path):
    # The first-run failure: policy-rc.d already there, packages missing -> exit 0, file kept.
    env, policy, log = _setup(tmp_path, ["pkg-a"], policy_present=True)
    before = policy.read_text()
    r = _run(env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(_installed(env)) == ["pkg-a", "pkg-b", "pkg-c"]
    calls = log.read_text().splitlines()
    assert calls[0].startswith("update")
    assert any(c.startswith("install") and "pkg-b pkg-c" in c for c in calls)
    assert policy.exists() and policy.read_text() == before
    # A second run is a no-op.
    log.unlink()
    assert _run(env).returncode == 0
    assert not log.exists()


def test_deps_installs_missing_without_policy_file_and_removes_it(tmp_path):
    env, policy, log = _setup(tmp_path, [], policy_present=False)
    r = _run(env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(_installed(env)) == ["pkg-a", "pkg-b", "pkg-c"]
    # The policy file kept services from starting while apt ran, and is gone afterwards.
    assert all(c.endswith("policy=present") for c in log.read_text().splitlines())
    assert not policy.exists()


def test_deps_apt_failure_is_reported_and_cleans_up(tmp_path):
    env, policy, _ = _setup(tmp_path, [], policy_present=False)
    env["FAKE_APT_FAIL"] = "1"
    r = _run(env)
    assert r.returncode != 0
    assert not policy.exists()


def test_deps_package_still_missing_after_install_fails(tmp_path):
    env, policy, _ = _setup(tmp_path, ["pkg-a"], policy_present=True)
    env["FAKE_APT_SKIP"] = "pkg-c"
    r = _run(env)
    assert r.returncode == 1
    assert "still missing" in r.stderr and "pkg-c" in r.stderr
    assert policy.exists()
