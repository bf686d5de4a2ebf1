"""Checks over whole files: every YAML parses, every shell script is sound, the README."""

import os
import shutil
import subprocess

import yaml


def parse_yaml(ctx):
    """Parses every deploy/**/*.y*ml into ctx.docs (one check per file)."""
    paths = sorted(list(ctx.deploy.rglob("*.yaml")) + list(ctx.deploy.rglob("*.yml")))
    for p in paths:
        try:
            ctx.docs[p] = [d for d in yaml.safe_load_all(p.read_text()) if d is not None]
            ctx.report.ok(f"yaml parses: {ctx.rel(p)}", f"{len(ctx.docs[p])} document(s)")
        except yaml.YAMLError as e:
            ctx.report.fail(f"yaml parses: {ctx.rel(p)}", str(e).replace("\n", " "))


def check_shell_scripts(ctx):
    """`bash -n`, the executable bit, and shellcheck when installed."""
    check = ctx.report.check
    scripts = sorted(ctx.deploy.rglob("*.sh"))
    for p in scripts:
        r = subprocess.run(["bash", "-n", str(p)], capture_output=True, text=True)
        check(f"bash -n {ctx.rel(p)}", r.returncode == 0, r.stderr.strip())
        check(f"executable: {ctx.rel(p)}", os.access(p, os.X_OK), "missing the executable bit (chmod +x)")
    if shutil.which("shellcheck"):
        for p in scripts:
            r = subprocess.run(["shellcheck", "-S", "warning", str(p)], capture_output=True, text=True)
            check(f"shellcheck {ctx.rel(p)}", r.returncode == 0, r.stdout.strip()[:500])
    else:
        ctx.report.skip("shellcheck", "not installed (apt-get install shellcheck)")


# The metrics deploy/README.md tells operators to watch.
METRICS = [
    "employes_sync_webhook_deliveries_total", "employes_sync_sessions_total",
    "employes_sync_stage_duration_seconds", "employes_sync_employes_requests_total",
    "employes_sync_changes_total", "employes_sync_outbox_pending",
]


def check_readme(ctx):
    check = ctx.report.check
    readme = ctx.deploy / "README.md"
    if not check("README.md exists", readme.is_file(), "missing"):
        return
    text = readme.read_text()
    check("README.md names the metrics to monitor", all(m in text for m in METRICS),
          f"missing {[m for m in METRICS if m not in text]}")
    check("README.md has 'What was validated here and what was not'",
          "What was validated here and what was not" in text, "section missing")
