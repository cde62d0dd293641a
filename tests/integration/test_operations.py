"""Operating the service: live config reload (SIGHUP and /api/reload-configuration), the log
file reopened on SIGUSR1 (logrotate), and log lines sent to syslog (EnableSyslog)."""
import os
import signal
import subprocess
import textwrap

import pytest

from orctest import wait_until


def _rewrite(orc, **changes):
    """Changes keys of the config file the running service was started with."""
    orc.config.update(changes)
    orc.write_config()


def _debug_command_logged(orc):
    """Applies one replicated command; the FSM logs it at debug level only."""
    assert orc.get("/api/disable-global-recoveries").status_code == 200
    assert orc.get("/api/enable-global-recoveries").status_code == 200
    return "+command-applied" in orc.current_log


def test_sighup_applies_a_changed_live_key(orc_factory):
    orc = orc_factory(LogLevel="info")
    assert not _debug_command_logged(orc)
    _rewrite(orc, LogLevel="debug")
    orc.signal(signal.SIGHUP)
    orc.wait_log(r'\+config-reloaded by=SIGHUP changed="LogLevel"', timeout=5)
    wait_until(lambda: _debug_command_logged(orc), 5, what="debug lines after the reload")
    assert orc.running


def test_api_reload_applies_a_live_key(orc_factory):
    orc = orc_factory(LogLevel="info")
    _rewrite(orc, LogLevel="debug")
    reply = orc.get("/api/reload-configuration")
    assert reply.status_code == 200, reply.text
    assert reply.json()["Code"] == "OK"
    assert reply.json()["Details"]["Changed"] == "LogLevel"
    assert _debug_command_logged(orc)
    again = orc.api("reload-configuration")
    assert again["Message"] == "Config reloaded, nothing changed"
    assert orc.get("/api/reload-configuration?config=/etc/passwd").status_code == 400


def test_reload_changing_a_restart_key_is_refused_and_changes_nothing(orc_factory):
    orc = orc_factory(LogLevel="info")
    secret = "a-new-secret-never-logged"
    password = orc.config["MySQLTopologyPassword"]
    _rewrite(orc, LogLevel="debug", InstancePollSeconds=7, MySQLTopologyPassword=secret)
    reply = orc.get("/api/reload-configuration")
    assert reply.status_code == 409, reply.text
    message = reply.json()["Message"]
    assert "reload refused" in message
    assert "InstancePollSeconds" in message and "MySQLTopologyPassword" in message
    assert "LogLevel" not in message  # reloadable: not the reason of the refusal
    assert secret not in message
    # Nothing half-applied: the level is still info.
    assert not _debug_command_logged(orc)
    # The signal path refuses the same way and the service keeps running.
    orc.signal(signal.SIGHUP)
    orc.wait_log(r"\+config-reload-refused by=SIGHUP .*InstancePollSeconds", timeout=5)
    assert orc.running
    assert secret not in orc.log
    # With the restart keys back as they were, the same file reloads.
    _rewrite(orc, InstancePollSeconds=1, MySQLTopologyPassword=password)
    reply = orc.get("/api/reload-configuration")
    assert reply.status_code == 200, reply.text
    assert reply.json()["Details"]["Changed"] == "LogLevel"


def test_reload_of_a_broken_file_is_refused_with_the_position(orc_factory):
    orc = orc_factory()
    good = orc.config_path.read_text()
    orc.config_path.write_text(good.replace('"BackendDB"', '"BackendDB",,', 1))
    reply = orc.get("/api/reload-configuration")
    assert reply.status_code == 409
    assert f"{orc.config_path}:" in reply.json()["Message"]
    orc.config_path.write_text(good)
    assert orc.get("/api/reload-configuration").status_code == 200


def test_sigusr1_reopens_the_log_file_after_a_rename(orc_factory, tmp_path):
    logfile = tmp_path / "service.log"
    orc = orc_factory(LogFile=str(logfile))
    wait_until(lambda: "+service-started" in logfile.read_text(), 5, what="log file written")
    rotated = tmp_path / "service.log.1"
    os.rename(logfile, rotated)
    orc.signal(signal.SIGUSR1)
    wait_until(lambda: logfile.exists() and "+log-reopened" in logfile.read_text(), 5,
               what="a new log file")
    orc.signal(signal.SIGHUP)  # one more event, after the reopen
    wait_until(lambda: "+config-reloaded" in logfile.read_text(), 5, what="new lines")
    old = rotated.read_text()
    assert "+service-started" in old
    assert "+log-reopened" not in old and "+config-reloaded" not in old


def test_reload_switches_the_log_file(orc_factory, tmp_path):
    first, second = tmp_path / "first.log", tmp_path / "second.log"
    orc = orc_factory(LogFile=str(first))
    _rewrite(orc, LogFile=str(second))
    assert orc.get("/api/reload-configuration").status_code == 200
    orc.signal(signal.SIGHUP)
    wait_until(lambda: second.exists() and "+config-reloaded" in second.read_text(), 5,
               what="lines in the new file")
    # A file that cannot be opened refuses the reload and keeps the current one.
    _rewrite(orc, LogFile=str(tmp_path / "missing-dir" / "x.log"))
    reply = orc.get("/api/reload-configuration")
    assert reply.status_code == 409 and "LogFile" in reply.json()["Message"]
    orc.signal(signal.SIGHUP)
    wait_until(lambda: "+config-reload-refused" in second.read_text(), 5, what="still logging")


SYSLOG_SHIM = r"""
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>

static void out(const char *what, int pri, const char *fmt, va_list ap)
{
    FILE *f = fopen(getenv("SYSLOG_SHIM_OUT"), "a");
    if (f == NULL)
        return;
    fprintf(f, "%s %d ", what, pri);
    if (fmt != NULL)
        vfprintf(f, fmt, ap);
    fputc('\n', f);
    fclose(f);
}

void openlog(const char *ident, int option, int facility)
{
    FILE *f = fopen(getenv("SYSLOG_SHIM_OUT"), "a");
    (void)option;
    if (f != NULL) {
        fprintf(f, "openlog %s %d\n", ident, facility);
        fclose(f);
    }
}

void closelog(void) {}

void syslog(int pri, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    out("syslog", pri, fmt, ap);
    va_end(ap);
}
"""


@pytest.fixture
def syslog_shim(tmp_path, monkeypatch):
    """An LD_PRELOAD library that records openlog/syslog calls in a file (no syslog daemon
    runs here, and /dev/log is shared with the machine)."""
    src = tmp_path / "shim.c"
    lib = tmp_path / "shim.so"
    src.write_text(textwrap.dedent(SYSLOG_SHIM))
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(lib), str(src)], check=True,
                   capture_output=True, timeout=60)
    out = tmp_path / "syslog.out"
    monkeypatch.setenv("LD_PRELOAD", str(lib))
    monkeypatch.setenv("SYSLOG_SHIM_OUT", str(out))
    return out


def test_enable_syslog_sends_log_lines_to_syslog(orc_factory, syslog_shim):
    orc = orc_factory(EnableSyslog=True)
    wait_until(lambda: syslog_shim.exists() and "+service-started" in syslog_shim.read_text(),
               5, what="syslog lines")
    text = syslog_shim.read_text()
    assert "openlog orchestrator 24" in text  # LOG_DAEMON = 3 << 3
    # LOG_NOTICE (5) | the line without its own time stamp.
    assert any(line.startswith("syslog 5 NOTICE +service-started")
               for line in text.splitlines()), text


def test_reload_turns_syslog_on(orc_factory, syslog_shim):
    orc = orc_factory(EnableSyslog=False)
    assert not syslog_shim.exists() or "syslog " not in syslog_shim.read_text()
    _rewrite(orc, EnableSyslog=True)
    orc.signal(signal.SIGHUP)
    wait_until(lambda: syslog_shim.exists() and "+config-reloaded" in syslog_shim.read_text(),
               5, what="syslog lines after the reload")
