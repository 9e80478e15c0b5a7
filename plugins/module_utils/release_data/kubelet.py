# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How each kubelet release hashes a container (FACTS.md 4; kubernetes/kubernetes #57741, #63814,
#124220, #129659). Data only; plugins/module_utils/container_hash.py reads it.

A running container carries the label io.kubernetes.container.hash written by the kubelet that
started it. A new kubelet recomputes the hash from the pod spec and restarts the container when the
two differ, so an in-place kubelet upgrade restarts containers exactly when the rule, or what the
rule reads, changes between the two releases.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# (first minor, rule id). A release uses the last entry whose minor is <= its own.
HASH_RULES = (
    # DeepHashObject over the Go struct v1.Container itself: every field, nil or not, with Go type
    # names, so any field added to the types a Container reaches changes every hash.
    ("1.10", "go-struct"),
    # fnv32a over spew("%#v", json.Marshal(container)): empty fields are omitted (PR #57741,
    # released in 1.16), so only new or newly defaulted fields change the hash.
    ("1.16", "container-json"),
    # Only {"image", "name"} is hashed (PR #124220): every container restarts on 1.30 -> 1.31 (#129659).
    ("1.31", "name-image"),
)

HASH_RULE_DESCRIPTIONS = {
    "go-struct": "the Go struct of v1.Container (every field, empty or not)",
    "container-json": "the JSON of v1.Container (empty fields omitted)",
    "name-image": "only the container's name and image",
}

# Top-level fields of v1.Container in Go struct order (the order json.Marshal writes them) with the
# minor that added each. The container-json rule hashes the fields the kubelet's own type knows.
CONTAINER_FIELDS = (
    ("name", "1.0"),
    ("image", "1.0"),
    ("command", "1.0"),
    ("args", "1.0"),
    ("workingDir", "1.0"),
    ("ports", "1.0"),
    ("envFrom", "1.5"),
    ("env", "1.0"),
    ("resources", "1.0"),
    ("resizePolicy", "1.27"),
    ("restartPolicy", "1.28"),
    ("volumeMounts", "1.0"),
    ("volumeDevices", "1.9"),
    ("livenessProbe", "1.0"),
    ("readinessProbe", "1.0"),
    ("startupProbe", "1.16"),
    ("lifecycle", "1.0"),
    ("terminationMessagePath", "1.0"),
    ("terminationMessagePolicy", "1.4"),
    ("imagePullPolicy", "1.0"),
    ("securityContext", "1.0"),
    ("stdin", "1.0"),
    ("stdinOnce", "1.0"),
    ("tty", "1.0"),
)

# Upstream test vectors (pkg/kubelet/container/container_hash_test.go): the sample container of that
# test hashes to these values under the container-json and the name-image rule.
UPSTREAM_VECTORS = {
    "container-json": 0x311670A,
    "name-image": 0x8E45CBD0,
}
