"""Entry point of every emulated component: flag parsing the way pflag/cobra do it, --version,
the refusal of flags the release does not have, then the component's run(opts).

`python -m lab.emulator <component> [flags]` runs a component unpacked; the version comes from
LAB_K8S_VERSION or from --lab-version=X.Y.Z (a lab-only flag, removed before parsing). The built
executables (lab/emulator/build.py) bake component and version in and call main() directly.
"""

import faulthandler
import importlib
import os
import signal
import sys

from lab.emulator import klog
from lab.facts import flags as flag_facts
from lab.facts import versions as version_facts

MODULES = {
    "kube-apiserver": "lab.emulator.apiserver",
    "kube-controller-manager": "lab.emulator.controller_manager",
    "kube-scheduler": "lab.emulator.scheduler",
    "kubelet": "lab.emulator.kubelet",
    "kube-proxy": "lab.emulator.kube_proxy",
    "crictl": "lab.emulator.crictl",
}

TRUE_WORDS = ("1", "t", "T", "true", "TRUE", "True")
FALSE_WORDS = ("0", "f", "F", "false", "FALSE", "False")


class FlagError(Exception):
    """A flag parse error, worded as pflag words it."""


class Options(object):
    """Parsed command line of one component run."""

    def __init__(self, component, version, flags, args=None, env=None):
        self.component = component
        self.version = version
        self.major, self.minor, self.patch = version_facts.parse(version)
        self.flags = flags  # name -> last value given (str); bools as "true"/"false"
        self.args = list(args or [])
        self.env = env if env is not None else os.environ

    def get(self, name, default=None):
        return self.flags.get(name, default)

    def get_bool(self, name, default=False):
        if name not in self.flags:
            return default
        return self.flags[name] in TRUE_WORDS

    def get_int(self, name, default=0):
        try:
            return int(self.flags.get(name, default))
        except (TypeError, ValueError):
            return default

    def __repr__(self):
        return "Options(%s v%s %r)" % (self.component, self.version, self.flags)


def _normalize(name):
    # Kubernetes registers WordSepNormalizeFunc: --insecure_port means --insecure-port.
    return name.replace("_", "-")


def parse_flags(component, minor, argv):
    """pflag-style parse. Returns (flags dict, positional args). Raises FlagError."""
    known = flag_facts.known_flags(component, minor)
    flags = {}
    args = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            args.extend(argv[i:])
            break
        if arg.startswith("--") and len(arg) > 2:
            body = arg[2:]
            if "=" in body:
                name, value = body.split("=", 1)
                has_value = True
            else:
                name, value, has_value = body, None, False
            name = _normalize(name)
            if name not in known:
                raise FlagError("unknown flag: --%s" % name)
            if known[name] == "bool":
                if not has_value:
                    value = "true"
                elif name != "version" and value not in TRUE_WORDS + FALSE_WORDS:
                    raise FlagError('invalid argument "%s" for "--%s" flag: strconv.ParseBool: '
                                    'parsing "%s": invalid syntax' % (value, name, value))
            elif not has_value:
                if i >= len(argv):
                    raise FlagError("flag needs an argument: --%s" % name)
                value = argv[i]
                i += 1
            flags[name] = value
        elif arg.startswith("-") and len(arg) > 1:
            short = arg[1]
            if short not in flag_facts.SHORTHANDS:
                raise FlagError("unknown shorthand flag: '%s' in %s" % (short, arg))
            name = flag_facts.SHORTHANDS[short]
            rest = arg[2:]
            if known.get(name) == "bool":
                flags[name] = "true"
                continue
            if rest.startswith("="):
                value = rest[1:]
            elif rest:
                value = rest
            else:
                if i >= len(argv):
                    raise FlagError("flag needs an argument: 'v' in -v")
                value = argv[i]
                i += 1
            flags[name] = value
        else:
            args.append(arg)
    return flags, args


def usage(component, minor):
    known = flag_facts.known_flags(component, minor)
    lines = ["Usage:", "  %s [flags]" % component, "", "Flags:"]
    for name in sorted(known):
        kind = known[name]
        prefix = "  -v, " if name == "v" else ("  -h, " if name == "help" else "      ")
        lines.append("%s--%s%s" % (prefix, name, "" if kind == "bool" else " string"))
    return "\n".join(lines) + "\n"


def report_flag_error(component, minor, err, out=None):
    """Print a flag error the way that release did. Returns the exit code."""
    out = out or sys.stderr
    text = str(err)
    if component == "kubelet":
        # The kubelet parses its own flags (cobra's parsing is disabled for it).
        if minor < 24:
            out.write(usage(component, minor))
            out.write(klog.line("F", text, "server.go:160") + "\n")
            return 255
        text = "failed to parse kubelet flag: %s" % text
    if minor < 23:
        # cobra's default: the error, then the usage.
        out.write("Error: %s\n" % text)
        out.write(usage(component, minor))
        return 1
    # component-base/cli.Run from 1.23: usage first, then the error.
    out.write(usage(component, minor))
    if minor in (24, 25):
        out.write(klog.line("E", '"command failed" err="%s"' % text, "run.go:74") + "\n")
    else:
        out.write("Error: %s\n" % text)
    return 1


def version_string(version):
    return "Kubernetes v%s" % version


def version_raw(version):
    major, minor, _patch = version_facts.parse(version)
    return ('version.Info{Major:"%d", Minor:"%d", GitVersion:"v%s", GitCommit:"lab", '
            'GitTreeState:"clean", BuildDate:"1970-01-01T00:00:00Z", GoVersion:"lab", '
            'Compiler:"gc", Platform:"linux/amd64"}' % (major, minor, version))


def _take_lab_version(argv):
    rest, found = [], None
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("--lab-version="):
            found = arg.split("=", 1)[1]
        elif arg == "--lab-version" and i + 1 < len(argv):
            found = argv[i + 1]
            i += 1
        else:
            rest.append(arg)
        i += 1
    return rest, found


def main(argv=None, component=None, version=None, broken=False):
    """Run one component. argv excludes the program name. Returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if component is None:
        if not argv or argv[0] not in MODULES:
            sys.stderr.write("usage: python -m lab.emulator {%s} [flags]\n" % ",".join(sorted(MODULES)))
            return 2
        component, argv = argv[0], argv[1:]
    argv, lab_version = _take_lab_version(argv)
    version = version or lab_version or os.environ.get("LAB_K8S_VERSION")
    if not version:
        sys.stderr.write("lab emulator: no version: set LAB_K8S_VERSION or pass --lab-version=X.Y.Z\n")
        return 2
    version = version_facts.normalize(version)
    minor = version_facts.minor(version)
    if component == "crictl":
        module = importlib.import_module(MODULES[component])
        return module.main(argv, version)
    try:
        flags, args = parse_flags(component, minor, argv)
    except FlagError as err:
        return report_flag_error(component, minor, err)
    if "version" in flags and flags["version"] not in FALSE_WORDS:
        if flags["version"] == "raw":
            sys.stdout.write(version_raw(version) + "\n")
        else:
            sys.stdout.write(version_string(version) + "\n")
        return 0
    if flags.get("help") in TRUE_WORDS:
        sys.stdout.write(usage(component, minor))
        return 0
    if broken:
        # The fault-switch variant: answers --version like the good build, then dies at start.
        sys.stderr.write(klog.line("F", "lab fault: this %s v%s binary is broken on purpose and exits "
                                        "at start" % (component, version), "server.go:1") + "\n")
        return 1
    if args:
        sys.stderr.write("Error: %r does not take any arguments, got %r\n" % (component, args))
        return 1
    klog.set_verbosity(flags.get("v", "0"))
    # SIGUSR1 dumps every thread's stack to stderr (the journal): a debugging aid for the lab.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    opts = Options(component, version, flags, args)
    klog.info("Version: v%s" % version, "server.go:150")
    module = importlib.import_module(MODULES[component])
    runner = getattr(module, "run", None) or getattr(module, "main")
    try:
        result = runner(opts)
    except KeyboardInterrupt:
        return 0
    return int(result or 0)
