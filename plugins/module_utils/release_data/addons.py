# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The addon versions each Kubernetes release ships with (kubeadm's constants, CoreDNSVersion),
and where their images live. Data only; the addon_upgrade role reads it through the
addon_image filter."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# minor -> CoreDNS release kubeadm installs with it.
COREDNS_VERSIONS = {
    "1.10": "1.0.6", "1.11": "1.1.3", "1.12": "1.2.2", "1.13": "1.2.6", "1.14": "1.3.1", "1.15": "1.3.1",
    "1.16": "1.6.2", "1.17": "1.6.5", "1.18": "1.6.7", "1.19": "1.7.0", "1.20": "1.7.0", "1.21": "1.8.0",
    "1.22": "1.8.4", "1.23": "1.8.6", "1.24": "1.8.6", "1.25": "1.9.3", "1.26": "1.9.3", "1.27": "1.10.1",
    "1.28": "1.10.1", "1.29": "1.11.1", "1.30": "1.11.1", "1.31": "1.11.3", "1.32": "1.11.3", "1.33": "1.12.0",
}

# (first minor, image template): k8s.gcr.io until the registry moved; the coredns/ sub-path from 1.21.
COREDNS_IMAGES = (
    ("1.10", "k8s.gcr.io/coredns:{version}"),
    ("1.21", "k8s.gcr.io/coredns/coredns:v{version}"),
    ("1.25", "registry.k8s.io/coredns/coredns:v{version}"),
)
