# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Kubernetes minor releases this collection has data for.

Data only. Every other table in this package (removed APIs, flags, kubelet hash rules) is keyed
by these minors; adding a release means adding it here and to each table.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

FIRST_MINOR = 10
LAST_MINOR = 37

KNOWN_MINORS = tuple("1.%d" % minor for minor in range(FIRST_MINOR, LAST_MINOR + 1))
