"""deploy/Dockerfile and its .dockerignore, read as text (no container engine needed)."""

import json
import re
import tomllib


def check_dockerfile(ctx):
    dockerfile = ctx.deploy / "Dockerfile"
    if not dockerfile.is_file():
        ctx.report.fail("Dockerfile exists", f"{ctx.rel(dockerfile)} missing")
        return
    stages = stages_of(parse(dockerfile.read_text()))
    ctx.report.check("Dockerfile: multi-stage", len(stages) >= 2, f"{len(stages)} stage(s)",
                     " -> ".join(s["image"] + (f" AS {s['name']}" if s["name"] else "") for s in stages))
    sources = []
    if len(stages) >= 2:
        builder, runtime = stages[0], stages[-1]
        sources = check_builder(ctx, builder)
        check_runtime(ctx, builder, runtime)
    check_dockerignore(ctx, {s.rstrip("/") for s in sources})


def parse(text):
    """The instructions as (WORD, rest) pairs: continuations joined, comments dropped."""
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


def stages_of(instrs):
    """[{image, name, instrs}] per FROM, with global ARGs substituted into the image."""
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
    return stages


def check_builder(ctx, builder):
    """The build stage; returns the COPY sources it needs from the build context."""
    check = ctx.report.check
    bimg = builder["image"]
    instrs = builder["instrs"]
    check("Dockerfile: builder is a rust image", bimg.startswith("rust:"), f"builder FROM {bimg}", bimg)
    m = re.match(r"rust:(\d+)\.(\d+)", bimg)
    cargo_toml = ctx.root / "Cargo.toml"
    cargo = tomllib.loads(cargo_toml.read_text()) if cargo_toml.is_file() else {}
    need = cargo.get("package", {}).get("rust-version")
    if m and need:
        have = (int(m.group(1)), int(m.group(2)))
        want = tuple(int(x) for x in need.split(".")[:2])
        check("Dockerfile: builder Rust >= Cargo.toml rust-version", have >= want,
              f"{bimg} older than rust-version {need}", f"{have[0]}.{have[1]} >= {need}")

    env = " ".join(r for w, r in instrs if w in ("ENV", "ARG"))
    check("Dockerfile: SQLX_OFFLINE=true in the builder", re.search(r"\bSQLX_OFFLINE[= ]\"?true\b", env) is not None,
          "builder stage does not set ENV SQLX_OFFLINE=true")
    runs = [r for w, r in instrs if w == "RUN"]
    check("Dockerfile: cargo build --release --locked",
          any("cargo build" in r and "--release" in r and "--locked" in r for r in runs),
          "no `cargo build --release --locked` in the builder")

    copies = [(i, r) for i, (w, r) in enumerate(instrs) if w == "COPY"]
    i_manifest = next((i for i, r in copies if "Cargo.toml" in r and "Cargo.lock" in r), None)
    i_src = next((i for i, r in copies if re.search(r"(^|\s)src/?\s", r + " ")), None)
    i_dummy = next((i for i, (w, r) in enumerate(instrs) if w == "RUN" and "cargo build" in r), None)
    check("Dockerfile: dependency layer cached before sources",
          None not in (i_manifest, i_src, i_dummy) and i_manifest < i_dummy < i_src,
          "expected COPY Cargo.toml Cargo.lock, then a dummy cargo build, then COPY src/")

    sources = []
    for _, r in copies:
        parts = [p for p in r.split() if not p.startswith("--")]
        sources += parts[:-1]
    for src in sources:
        path = ctx.root / src
        if path.exists():
            ctx.report.ok(f"Dockerfile: COPY source exists: {src}")
        elif src.rstrip("/") in ("Cargo.toml", "Cargo.lock", "src"):
            ctx.report.fail(f"Dockerfile: COPY source exists: {src}", f"{ctx.rel(path)} missing")
        else:
            ctx.report.warn(f"Dockerfile: COPY source exists: {src}", f"{ctx.rel(path)} is not in the repository yet; "
                            "`docker build` fails at this COPY until it is committed")
    if (ctx.root / "build.rs").exists():
        check("Dockerfile: build.rs copied", "build.rs" in sources, "build.rs exists but is not copied")
    return sources


def check_runtime(ctx, builder, runtime):
    """The final stage: small, non-root, health-checked, runs `employes-sync serve`."""
    check = ctx.report.check
    fimg = runtime["image"]
    instrs = runtime["instrs"]
    check("Dockerfile: runtime stage is not the builder image",
          not fimg.startswith("rust") and fimg != builder["image"] and fimg.lower() != builder["name"],
          f"runtime FROM {fimg}", fimg)
    check("Dockerfile: runtime is debian bookworm-slim", fimg.startswith("debian:") and fimg.endswith("-slim"),
          f"runtime FROM {fimg}", fimg)

    users = [r for w, r in instrs if w == "USER"]
    user = users[-1] if users else ""
    check("Dockerfile: runtime USER is non-root", bool(users) and user.split(":")[0] not in ("0", "root"),
          f"USER {user or '(none)'}", f"USER {user}")
    runs = " ".join(r for w, r in instrs if w == "RUN")
    check("Dockerfile: runtime user has uid 10001", "10001" in user or "--uid 10001" in runs, "uid 10001 not used")

    hc = [r for w, r in instrs if w == "HEALTHCHECK"]
    check("Dockerfile: HEALTHCHECK uses the binary", bool(hc) and "employes-sync" in hc[-1] and "healthcheck" in hc[-1],
          f"HEALTHCHECK {hc[-1] if hc else '(none)'}", hc[-1] if hc else "")
    m = re.search(r"apt-get install[^&|;]*", runs)
    pkgs = [p for p in (m.group(0).split()[2:] if m else []) if not p.startswith("-")]
    check("Dockerfile: runtime installs ca-certificates only", pkgs == ["ca-certificates"], f"installs {pkgs}")

    ep = [r for w, r in instrs if w == "ENTRYPOINT"]
    cmd = [r for w, r in instrs if w == "CMD"]
    check("Dockerfile: ENTRYPOINT employes-sync, CMD serve",
          bool(ep) and json.loads(ep[-1]) == ["employes-sync"] and bool(cmd) and json.loads(cmd[-1]) == ["serve"],
          f"ENTRYPOINT {ep} CMD {cmd}")
    check("Dockerfile: EXPOSE 8080", any(w == "EXPOSE" and "8080" in r for w, r in instrs), "no EXPOSE 8080")
    check("Dockerfile: binary copied from the builder",
          any(w == "COPY" and f"--from={builder['name']}" in r and "employes-sync" in r for w, r in instrs),
          "no COPY --from=<builder> of the binary")


def check_dockerignore(ctx, needed):
    """The build context excludes build output and VCS data but keeps what the COPYs need."""
    check = ctx.report.check
    ignore = ctx.deploy / "Dockerfile.dockerignore"
    if not check("Dockerfile.dockerignore exists", ignore.is_file(), f"{ctx.rel(ignore)} missing"):
        return
    lines = ignore.read_text().splitlines()
    pats = [line.strip().rstrip("/") for line in lines if line.strip() and not line.startswith("#")]
    for must in ("target", ".git", "node_modules"):
        check(f"Dockerfile.dockerignore excludes {must}", any(p.lstrip("*/") == must for p in pats), f"no pattern for {must}")
    clash = sorted(p for p in pats if not p.startswith("!") and p in needed)
    check("Dockerfile.dockerignore keeps the COPY sources", not clash, f"excludes {clash}")
