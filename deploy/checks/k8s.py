"""deploy/k8s/: the objects, the kustomization, ConfigMap/Secret keys, the migrate Job, the NATS
chart values; `kubectl kustomize` and `kubernetes-validate` when installed."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from .config_keys import SECRET_KEYS
from .k8s_deployment import check_deployment

NOT_OBJECTS = {"kustomization.yaml", "nats-values.yaml"}
REQUIRED_KINDS = ("Namespace", "ConfigMap", "Secret", "Deployment", "Service", "Job", "PodDisruptionBudget")


def check_k8s(ctx):
    k8s = ctx.deploy / "k8s"
    by_kind = objects_by_kind(ctx, k8s)
    for kind in REQUIRED_KINDS:
        ctx.report.check(f"k8s: has a {kind}", kind in by_kind, "missing")
    kust = ctx.doc(k8s / "kustomization.yaml") or {}
    check_kustomization(ctx, k8s, kust, by_kind)
    cms = {d["metadata"]["name"]: d for d in by_kind.get("ConfigMap", [])}
    secs = {d["metadata"]["name"]: d for d in by_kind.get("Secret", [])}
    check_config_objects(ctx, cms, secs)
    config = {k: v for cm in cms.values() for k, v in (cm.get("data") or {}).items()}
    for dep in by_kind.get("Deployment", []):
        check_deployment(ctx, dep, config, cms, secs, by_kind)
    for job in by_kind.get("Job", []):
        check_migrate_job(ctx, job)
    images = {c["image"].rsplit(":", 1)[0] for kind in ("Deployment", "Job") for d in by_kind.get(kind, [])
              for c in d["spec"]["template"]["spec"]["containers"]}
    ctx.report.check("k8s: kustomization images[] covers the app image",
                     images <= {i.get("name") for i in kust.get("images", [])}, f"images {images} vs {kust.get('images')}")
    check_nats_values(ctx, ctx.doc(k8s / "nats-values.yaml") or {}, config)
    rendered = render_kustomization(ctx, k8s)
    validate_schemas(ctx, k8s, kust, rendered)


def objects_by_kind(ctx, k8s):
    """Every object of the manifests (not the kustomization or chart values), by kind."""
    by_kind = {}
    for p, ds in ctx.docs.items():
        if p.parent != k8s or p.name in NOT_OBJECTS:
            continue
        for d in ds:
            good = isinstance(d, dict) and d.get("apiVersion") and d.get("kind") and (d.get("metadata") or {}).get("name")
            ctx.report.check(f"k8s: {p.name} {d.get('kind') if isinstance(d, dict) else '?'} has apiVersion/kind/metadata.name",
                             bool(good), "missing apiVersion, kind or metadata.name")
            if good:
                by_kind.setdefault(d["kind"], []).append(d)
    return by_kind


def check_kustomization(ctx, k8s, kust, by_kind):
    res = kust.get("resources", [])
    missing = [r for r in res if not (k8s / r).is_file()]
    unlisted = sorted(p.name for p in k8s.glob("*.yaml") if p.name not in NOT_OBJECTS and p.name not in res)
    ctx.report.check("k8s: kustomization lists every manifest (and only existing files)", not missing and not unlisted,
                     f"missing files {missing}, not listed {unlisted}", f"{len(res)} resources")
    ns = kust.get("namespace")
    namespaces = [d["metadata"]["name"] for d in by_kind.get("Namespace", [])]
    ctx.report.check("k8s: kustomization namespace matches the Namespace object", ns and ns in namespaces,
                     f"namespace {ns} vs {namespaces}")


def check_config_objects(ctx, cms, secs):
    """Known keys only; secrets in the Secret, plain settings in the ConfigMap."""
    check = ctx.report.check
    for name, cm in cms.items():
        data = cm.get("data") or {}
        ctx.keys.check(f"k8s: ConfigMap {name} keys", data)
        leaked = sorted(set(data) & SECRET_KEYS)
        check(f"k8s: ConfigMap {name} holds no secrets", not leaked, f"move {leaked} to the Secret")
        check(f"k8s: ConfigMap {name} values are strings", all(isinstance(v, str) for v in data.values()),
              "quote numbers/booleans: ConfigMap data must be strings")
    for name, sec in secs.items():
        data = {**(sec.get("data") or {}), **(sec.get("stringData") or {})}
        check(f"k8s: Secret {name} uses stringData", "stringData" in sec, "template should use stringData")
        ctx.keys.check(f"k8s: Secret {name} keys", data)
        check(f"k8s: Secret {name} has the secret keys", SECRET_KEYS <= set(data), f"missing {sorted(SECRET_KEYS - set(data))}")


def check_migrate_job(ctx, job):
    pod = job["spec"]["template"]["spec"]
    c = pod["containers"][0]
    psc, csc = pod.get("securityContext") or {}, c.get("securityContext") or {}
    ctx.report.check(f"k8s: Job {job['metadata']['name']} runs migrate, non-root, no restarts in place",
                     (c.get("args") or [])[:1] == ["migrate"] and pod.get("restartPolicy") in ("Never", "OnFailure")
                     and (psc.get("runAsNonRoot") or csc.get("runAsNonRoot")) and csc.get("readOnlyRootFilesystem") is True,
                     f"args {c.get('args')}, restartPolicy {pod.get('restartPolicy')}")


def check_nats_values(ctx, values, config):
    """The NATS Helm chart values: a 3-node JetStream cluster on PVCs, and the app pointed at it."""
    cfg = values.get("config") or {}
    cluster = cfg.get("cluster") or {}
    js = cfg.get("jetstream") or {}
    fs = js.get("fileStore") or {}
    ctx.report.check("k8s: nats-values 3-node cluster with JetStream file storage on PVCs",
                     cluster.get("enabled") is True and cluster.get("replicas") == 3
                     and js.get("enabled") is True and fs.get("enabled") is True and (fs.get("pvc") or {}).get("enabled") is True
                     and bool((fs.get("pvc") or {}).get("size")),
                     f"config {json.dumps(cfg)[:300]}")
    urls = [u for u in config.get("NATS_URL", "").split(",") if u.strip()]
    reps = config.get("NATS_STREAM_REPLICAS", "1")
    ctx.report.check("k8s: NATS_URL lists 3 servers and NATS_STREAM_REPLICAS=3 <= cluster size",
                     len(urls) == 3 and reps == "3" and int(reps) <= int(cluster.get("replicas", 1)),
                     f"NATS_URL has {len(urls)} URL(s), NATS_STREAM_REPLICAS={reps}")


def render_kustomization(ctx, k8s):
    """`kubectl kustomize` output, or None (kubectl missing or the render failed)."""
    kubectl = shutil.which("kubectl")
    if not kubectl:
        ctx.report.skip("k8s: kubectl kustomize", "kubectl not installed")
        return None
    r = subprocess.run([kubectl, "kustomize", str(k8s)], capture_output=True, text=True)
    count = len([d for d in yaml.safe_load_all(r.stdout) if d]) if r.returncode == 0 else 0
    if ctx.report.check("k8s: kubectl kustomize renders", r.returncode == 0, r.stderr.strip()[:400], f"{count} objects"):
        return r.stdout
    return None


def kubernetes_validate_command(ctx):
    """kubernetes-validate from PATH, or the copy --install-tools put under ctx.tools."""
    found = shutil.which("kubernetes-validate")
    if found:
        return [found], None
    local = ctx.tools / "python"
    if (local / "kubernetes_validate").is_dir():
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(local), os.environ.get("PYTHONPATH")])))
        return [sys.executable, "-m", "kubernetes_validate"], env
    return None, None


def validate_schemas(ctx, k8s, kust, rendered):
    """Every object against the Kubernetes schemas (the rendered kustomization when there is one)."""
    command, env = kubernetes_validate_command(ctx)
    if not command:
        ctx.report.skip("k8s: kubernetes-validate", "not installed (pip install kubernetes-validate, or --install-tools)")
        return
    with tempfile.TemporaryDirectory() as td:
        if rendered:
            f = Path(td) / "rendered.yaml"
            f.write_text(rendered)
            files = [str(f)]
        else:
            files = [str(k8s / r) for r in kust.get("resources", [])]
        r = subprocess.run([*command, "--strict", "--quiet", *files], capture_output=True, text=True, env=env)
        ctx.report.check("k8s: kubernetes-validate --strict (schemas)", r.returncode == 0, (r.stdout + r.stderr).strip()[:600],
                         "rendered kustomization" if rendered else "manifests")
