#!/usr/bin/env bash
# ansible-test sanity, offline. ansible-test wants the collection at a path ending in
# ansible_collections/NS/NAME and resolves symlinks, so the tracked files are copied there.
# Its sanity virtualenvs bootstrap pip from a download host this machine cannot reach: the stub
# written below (see FACTS.md 6) makes it use ensurepip and PyPI instead.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
venv=$root/.venv

# The pip version ansible-test pins for its sanity virtualenvs (get_venv_packages).
pip_version=$("$venv/bin/python" - <<'PY'
import pathlib, re, ansible_test
src = (pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py").read_text()
print(re.search(r"def get_venv_packages.*?pip=['\"]([^'\"]+)", src, re.S).group(1))
PY
)
cache=$HOME/.ansible/test/cache
mkdir -p "$cache"
stub=$cache/get_pip_${pip_version//./_}.py
if [ ! -s "$stub" ] || ! grep -q clusterops-stub "$stub"; then
  cat > "$stub" <<'PY'
# clusterops-stub: stands in for get-pip.py, which cannot be downloaded here.
import ensurepip
import os
import subprocess
import sys

env = dict(os.environ)
ensurepip.bootstrap(upgrade=True)
os.environ.clear()
os.environ.update(env)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "--upgrade", "--force-reinstall"] + args))
PY
fi

# A tree of its own per run, so that several runs at once do not pull the floor from each other.
work=$root/.build/sanity-$$
trap 'rm -rf "$work"' EXIT
dest=$work/ansible_collections/clusterops/k8s_upgrade
mkdir -p "$dest"
git ls-files -z --cached --others --exclude-standard | rsync -a --from0 --files-from=- ./ "$dest/"
# Collections this one depends on, taken from the venv's `ansible` package, so that doc fragments
# and module_utils of kubernetes.core resolve in the sanity virtualenvs too.
purelib=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
mkdir -p "$work/ansible_collections/kubernetes"
ln -sfn "$purelib/ansible_collections/kubernetes/core" "$work/ansible_collections/kubernetes/core"
cd "$dest"
# ansible-test lists a collection's files through git when it is a repository.
git init -q .
git add -A
export PATH=$venv/bin:$PATH
ansible-test sanity --local --python 3.11 --color no "$@"
