"""The employes-sync Deployment: replicas, shutdown timing, probes, resources, security context,
configuration sources, and the Service and PodDisruptionBudget that select it."""

from .context import duration_s


def check_deployment(ctx, dep, config, cms, secs, by_kind):
    check = ctx.report.check
    n = dep["metadata"]["name"]
    spec = dep["spec"]
    pod = spec["template"]["spec"]
    labels = spec["template"]["metadata"].get("labels", {})
    c = pod["containers"][0]
    check(f"k8s: Deployment {n} replicas >= 2", spec.get("replicas", 1) >= 2, f"replicas {spec.get('replicas')}")
    check(f"k8s: Deployment {n} selector matches pod labels",
          all(labels.get(k) == v for k, v in spec["selector"]["matchLabels"].items()), "selector/labels mismatch")
    check_grace_period(ctx, n, pod, c, config)
    check(f"k8s: Deployment {n} args [serve]", (c.get("args") or [])[:1] == ["serve"], f"args {c.get('args')}")
    ports = check_probes(ctx, n, c)
    r = c.get("resources") or {}
    have = all((r.get(a) or {}).get(b) for a in ("requests", "limits") for b in ("cpu", "memory"))
    check(f"k8s: Deployment {n} resources requests+limits", have, f"resources {r}",
          f"requests {r.get('requests')}, limits {r.get('limits')}")
    check_security(ctx, n, pod, c)
    check(f"k8s: Deployment {n} spreads replicas", bool(pod.get("topologySpreadConstraints"))
          or bool((pod.get("affinity") or {}).get("podAntiAffinity")), "no topologySpreadConstraints / podAntiAffinity")
    refs = [(list(e)[0], list(e.values())[0]["name"]) for e in c.get("envFrom", [])]
    check(f"k8s: Deployment {n} envFrom the ConfigMap and Secret",
          any(k == "configMapRef" and v in cms for k, v in refs) and any(k == "secretRef" and v in secs for k, v in refs),
          f"envFrom {refs}")
    env_keys = [e["name"] for e in c.get("env", [])]
    if env_keys:
        ctx.keys.check(f"k8s: Deployment {n} env keys", env_keys)
    check_selectors(ctx, n, spec, labels, ports, by_kind)


def check_grace_period(ctx, n, pod, c, config):
    """The pod gets longer than preStop + SHUTDOWN_TIMEOUT before it is killed."""
    tgps = pod.get("terminationGracePeriodSeconds", 30)
    shut = duration_s(config.get("SHUTDOWN_TIMEOUT", "30s")) or 30
    pre = ((c.get("lifecycle") or {}).get("preStop") or {}).get("exec", {}).get("command", [])
    pre_s = float(pre[1]) if len(pre) == 2 and pre[0] == "sleep" and pre[1].isdigit() else 0
    ctx.report.check(f"k8s: Deployment {n} terminationGracePeriodSeconds >= 35 and > preStop + SHUTDOWN_TIMEOUT",
                     tgps >= 35 and tgps > pre_s + shut, f"{tgps}s vs preStop {pre_s:g}s + SHUTDOWN_TIMEOUT {shut:g}s",
                     f"{tgps}s > {pre_s:g}s + {shut:g}s")


def probe_path(c, kind):
    return ((c.get(kind) or {}).get("httpGet") or {}).get("path")


def check_probes(ctx, n, c):
    """/readyz, /healthz and a startup probe on declared ports; returns the port names and numbers."""
    check = ctx.report.check
    check(f"k8s: Deployment {n} readiness /readyz", probe_path(c, "readinessProbe") == "/readyz",
          f"readinessProbe path {probe_path(c, 'readinessProbe')}")
    check(f"k8s: Deployment {n} liveness /healthz", probe_path(c, "livenessProbe") == "/healthz",
          f"livenessProbe path {probe_path(c, 'livenessProbe')}")
    check(f"k8s: Deployment {n} startupProbe", bool(c.get("startupProbe")), "missing")
    ports = {p.get("name") for p in c.get("ports", [])} | {p.get("containerPort") for p in c.get("ports", [])}
    bad = [k for k in ("readinessProbe", "livenessProbe", "startupProbe")
           if ((c.get(k) or {}).get("httpGet") or {}).get("port") not in ports]
    check(f"k8s: Deployment {n} probes target a declared port", not bad, f"{bad}")
    return ports


def check_security(ctx, n, pod, c):
    check = ctx.report.check
    psc, csc = pod.get("securityContext") or {}, c.get("securityContext") or {}
    check(f"k8s: Deployment {n} runAsNonRoot", psc.get("runAsNonRoot") is True or csc.get("runAsNonRoot") is True, "not set")
    check(f"k8s: Deployment {n} readOnlyRootFilesystem", csc.get("readOnlyRootFilesystem") is True, "not set")
    check(f"k8s: Deployment {n} drops ALL capabilities, no privilege escalation",
          "ALL" in ((csc.get("capabilities") or {}).get("drop") or []) and csc.get("allowPrivilegeEscalation") is False,
          f"securityContext {csc}")
    check(f"k8s: Deployment {n} seccomp RuntimeDefault",
          ((psc.get("seccompProfile") or csc.get("seccompProfile") or {}).get("type")) == "RuntimeDefault", "not set")


def check_selectors(ctx, n, spec, labels, ports, by_kind):
    """Every Service and PodDisruptionBudget selects this Deployment's pods."""
    check = ctx.report.check
    for svc in by_kind.get("Service", []):
        sel = svc["spec"].get("selector", {})
        check(f"k8s: Service {svc['metadata']['name']} selects Deployment {n}",
              sel and all(labels.get(k) == v for k, v in sel.items()), f"selector {sel}")
        targets = [p.get("targetPort") for p in svc["spec"].get("ports", [])]
        check(f"k8s: Service {svc['metadata']['name']} targetPort exists", all(t in ports for t in targets), f"{targets}")
    for pdb in by_kind.get("PodDisruptionBudget", []):
        sel = pdb["spec"]["selector"]["matchLabels"]
        mn = pdb["spec"].get("minAvailable")
        check(f"k8s: PDB {pdb['metadata']['name']} selects Deployment {n} and allows a disruption",
              all(labels.get(k) == v for k, v in sel.items()) and (mn is None or int(mn) < spec.get("replicas", 1)),
              f"selector {sel}, minAvailable {mn}")
