"""Fixtures for running the collection's roles with ansible-playbook against this machine."""

import functools
import http.server
import json
import os
import socket
import subprocess
import sys
import threading

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BIN = os.path.dirname(sys.executable)


@pytest.fixture
def http_dir(tmp_path):
    """Serve a temporary directory over HTTP on a free loopback port; yields (directory, base URL)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def dead_url():
    """A loopback URL on which nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return "http://127.0.0.1:%d" % port


@pytest.fixture
def run_playbook(tmp_path):
    """run_playbook(yaml_text, extra_vars, check=False) -> CompletedProcess of ansible-playbook on localhost."""

    def run(playbook, extra_vars=None, check=False):
        path = tmp_path / "play.yml"
        path.write_text(playbook)
        argv = [os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local", str(path),
                "-e", json.dumps(extra_vars or {})]
        if check:
            argv.append("--check")
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="default",
                   ANSIBLE_NOCOLOR="1", ANSIBLE_PYTHON_INTERPRETER=sys.executable)
        return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)

    return run
