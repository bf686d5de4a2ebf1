"""The NATS server configs (compose and loopback variants) and the optional live local cluster."""

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

# (variant, folder under deploy/, host of node {i}, (client, route, monitor) port of node {i})
VARIANTS = (
    ("compose", "nats", "nats-{}", ("4222", "6222", "8222")),
    ("local", "nats/local", "127.0.0.1", ("430{}", "630{}", "830{}")),
)


def conf_facts(text):
    """What the checks need from a nats-server config, read with regexes (comments removed)."""
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


def nats_server_binary():
    return shutil.which("nats-server") or ("/usr/sbin/nats-server" if os.path.exists("/usr/sbin/nats-server") else None)


def check_configs(ctx):
    """Three nodes per variant, each routing to all three, one cluster with JetStream;
    `nats-server -t` on each when the binary is installed."""
    check = ctx.report.check
    server = nats_server_binary()
    for variant, folder, host, ports in VARIANTS:
        names = set()
        for i in (1, 2, 3):
            p = ctx.deploy / folder / f"nats-{i}.conf"
            if not p.is_file():
                ctx.report.fail(f"nats {variant} config {ctx.rel(p)}", "missing")
                continue
            f = conf_facts(p.read_text())
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
            if server:
                r = subprocess.run([server, "-t", "-c", str(p)], capture_output=True, text=True)
                check(f"nats-server -t {ctx.rel(p)}", r.returncode == 0, (r.stderr or r.stdout).strip())
        check(f"nats {variant}: distinct server_name per node", len(names) == 3 and None not in names, f"names {names}")
    if not server:
        ctx.report.skip("nats-server -t", "nats-server binary not found")


def check_local_cluster(ctx, enabled):
    """Starts deploy/nats/local-cluster.sh in a temporary directory, smoke-tests an R3 stream,
    stops it, and checks no node is left running."""
    if not enabled:
        ctx.report.skip("local cluster", "run with --with-cluster to start/check/stop deploy/nats/local-cluster.sh")
        return
    check = ctx.report.check
    script = str(ctx.deploy / "nats/local-cluster.sh")
    with tempfile.TemporaryDirectory(prefix="employes-nats-validate-") as td:
        args = ["--dir", td]
        pids = []
        try:
            r = subprocess.run([script, "start", *args], capture_output=True, text=True, timeout=90)
            check("local cluster: start (3 nodes, JetStream, 2 routes each)", r.returncode == 0,
                  (r.stdout + r.stderr).strip()[-800:], r.stdout.strip().splitlines()[-2] if r.returncode == 0 else "")
            if r.returncode == 0:
                r = subprocess.run([script, "smoke", *args], capture_output=True, text=True, timeout=90)
                check("local cluster: R3 stream create/publish/info/delete", r.returncode == 0,
                      (r.stdout + r.stderr).strip()[-800:])
            pid_files = [Path(td, "pids", f"nats-{i}.pid") for i in (1, 2, 3)]
            pids = [f.read_text().strip() for f in pid_files if f.exists()]
        finally:
            r = subprocess.run([script, "stop", *args], capture_output=True, text=True, timeout=60)
        alive = [p for p in pids if p.isdigit() and Path(f"/proc/{p}").exists()]
        check("local cluster: stop leaves no process behind", r.returncode == 0 and not alive,
              f"still running: {alive} {r.stderr.strip()}", f"stopped pids {' '.join(pids)}")
