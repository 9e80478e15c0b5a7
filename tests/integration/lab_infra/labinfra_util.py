"""Helpers shared by the lab_infra tests (a module of its own: conftest.py is not importable by name)."""

import glob
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
VERSION = "1.15.12"


def run_lab(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "lab"] + list(args), cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, check=False)


def find_kubectl():
    """kubectl on PATH, else the newest versioned kubectl of a Google Cloud SDK install."""
    found = shutil.which("kubectl")
    if found:
        return found
    sdk = [os.path.dirname(p) for p in (shutil.which("gcloud"),) if p]
    sdk += ["/usr/lib/google-cloud-sdk/bin", "/usr/local/google-cloud-sdk/bin"]
    for folder in sdk:
        cands = sorted(glob.glob(os.path.join(folder, "kubectl.1.*")), key=lambda p: int(p.rsplit(".", 1)[1]))
        if cands:
            return cands[-1]
    return None
