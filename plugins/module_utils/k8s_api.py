# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Raw JSON access to the Kubernetes API for the modules of this collection.

Authentication is kubernetes.core's: the same options (AUTH_ARG_SPEC, doc fragment
kubernetes.core.k8s_auth_options) and the same configuration loader, so a kubeconfig, context,
token or client certificate that works with kubernetes.core.k8s_info works here. Requests go
through the official client's ApiClient but return plain dicts: the scans read old group/versions
that the client's typed models do not know, and dicts keep paginated scans small.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import traceback

# The option spec is pure data: importable even where the kubernetes library is missing, so the
# argument spec (and ansible-test's validation of it) never depends on the library.
from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC

try:
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
    from kubernetes.client.exceptions import ApiException

    HAS_K8S = True
    K8S_IMPORT_ERROR = None
except ImportError:  # the module reports missing_required_lib
    HAS_K8S = False
    K8S_IMPORT_ERROR = traceback.format_exc()

    class ApiException(Exception):  # pylint: disable=function-redefined
        pass

DEFAULT_TIMEOUT = 30


# What to do when the API refuses the credentials: said once, here, for every module.
AUTH_HINTS = {
    401: "the API did not accept the credentials (401 Unauthorized): the kubeconfig's user is unknown to this "
         "cluster, or its client certificate or token expired or comes from another cluster; point k8s_kubeconfig "
         "(and k8s_context) at a working admin kubeconfig of this cluster",
    403: "the credentials were accepted but are not allowed to do this (403 Forbidden): the upgrade reads every "
         "resource, Helm release Secrets and drains nodes, so it needs cluster-admin rights; point k8s_kubeconfig "
         "(and k8s_context) at an admin kubeconfig (user in system:masters or bound to cluster-admin)",
}


def auth_hint(status):
    """What to do about an HTTP status that refused the credentials, or '' for any other status."""
    hint = AUTH_HINTS.get(status)
    return "; %s" % hint if hint else ""


class KubeApiError(Exception):
    """A request that failed, with the HTTP status when the server answered."""

    def __init__(self, message, status=None):
        super(KubeApiError, self).__init__(message)
        self.status = status


def auth_params(params):
    """The subset of module params that kubernetes.core's client loader understands."""
    return dict((key, params.get(key)) for key in AUTH_ARG_SPEC if params.get(key) is not None)


class KubeApi:
    """A thin JSON client: get, list in pages, and write, on any API path."""

    def __init__(self, params, timeout=DEFAULT_TIMEOUT):
        kubeconfig = params.get("kubeconfig")
        if isinstance(kubeconfig, str) and not os.path.exists(os.path.expanduser(kubeconfig)):
            raise KubeApiError(
                "could not load the Kubernetes credentials: the kubeconfig %s does not exist on the controller; "
                "set k8s_kubeconfig (kubeconfig) to the admin kubeconfig of this cluster" % kubeconfig
            )
        try:
            self._api = get_api_client(module=None, **auth_params(params)).client.client
        except Exception as exc:  # ConfigException, missing file, bad YAML
            if type(exc).__module__.startswith("urllib3"):  # the client asks /version while loading
                raise KubeApiError(
                    "cannot reach the Kubernetes API (check the kubeconfig/host and that the apiserver is up): %s" % exc
                )
            raise KubeApiError(
                "could not load the Kubernetes credentials (kubeconfig, context or host): %s" % exc
            )
        self.host = self._api.configuration.host
        self.timeout = timeout

    def request(self, method, path, query=None, body=None, content_type="application/json", accept="application/json"):
        headers = {"Accept": accept}
        if body is not None:
            headers["Content-Type"] = content_type
        try:
            req = self._api.param_serialize(
                method,
                path,
                query_params=list((query or {}).items()),
                header_params=headers,
                body=body,
                auth_settings=["BearerToken"],
            )
            resp = self._api.call_api(*req, _request_timeout=self.timeout)
            resp.read()
        except ApiException as exc:
            status = getattr(exc, "status", None)
            raise KubeApiError("%s %s%s failed: %s%s" % (method, self.host, path, exc, auth_hint(status)), status)
        except Exception as exc:  # urllib3 connection, TLS and timeout errors
            raise KubeApiError(
                "cannot reach the Kubernetes API at %s (%s %s): %s; check the kubeconfig/host "
                "and that the apiserver is up" % (self.host, method, path, exc)
            )
        if not 200 <= resp.status <= 299:
            raise KubeApiError(
                "%s %s%s answered HTTP %s: %s%s"
                % (method, self.host, path, resp.status, _short(resp.data), auth_hint(resp.status)),
                resp.status,
            )
        if not resp.data:
            return None
        try:
            return json.loads(resp.data)
        except ValueError:
            raise KubeApiError("%s %s%s did not answer JSON: %s" % (method, self.host, path, _short(resp.data)))

    def get(self, path, query=None):
        return self.request("GET", path, query=query)

    def get_or_none(self, path, query=None):
        """GET that turns 404 into None (a group/version the server does not serve)."""
        try:
            return self.get(path, query)
        except KubeApiError as exc:
            if exc.status == 404:
                return None
            raise

    def list_pages(self, path, limit=500, query=None):
        """Yield each page (a List object) of a collection, following `continue` tokens."""
        query = dict(query or {}, limit=limit)
        while True:
            page = self.get(path, query)
            yield page
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return
            query["continue"] = token

    def list_items(self, path, limit=500, query=None):
        for page in self.list_pages(path, limit, query):
            yield from page.get("items") or []


def _short(data, size=300):
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    data = data or ""
    return data if len(data) <= size else data[:size] + "..."
