"""Helpers for the integration tests: real MariaDB sandboxes and orchestrator processes."""
from .orchestrator import (STARTED_EVENT, STOPPED_EVENT, Orchestrator, OrchestratorError,
                           default_config, event_regex)
from .sandbox import REPO_ROOT, SANDBOX_SH, Sandbox, SandboxError
from .util import free_port, free_ports, port_open, wait_until

__all__ = [
    "Orchestrator", "OrchestratorError", "default_config", "event_regex", "STARTED_EVENT",
    "STOPPED_EVENT", "Sandbox", "SandboxError", "REPO_ROOT", "SANDBOX_SH", "free_port",
    "free_ports", "port_open", "wait_until",
]
