"""deploy/.env.example against the ${VAR} references of compose.yaml."""

import base64
import binascii
import re


def check_env_example(ctx, compose_path):
    check = ctx.report.check
    text = "\n".join(re.sub(r"(^|\s)#.*", "", line) for line in compose_path.read_text().splitlines())
    refs = set(re.findall(r"\$\{([A-Z0-9_]+)", text))
    required = set(re.findall(r"\$\{([A-Z0-9_]+):?\?", text))
    env_example = ctx.deploy / ".env.example"
    if not check(".env.example exists", env_example.is_file(), "missing"):
        return
    set_vars, commented = {}, set()
    for line in env_example.read_text().splitlines():
        m = re.match(r"^\s*(#)?\s*([A-Z][A-Z0-9_]*)=(.*)$", line)
        if m and m.group(1):
            commented.add(m.group(2))
        elif m:
            set_vars[m.group(2)] = m.group(3)
    documented = set(set_vars) | commented
    check(".env.example sets every required ${VAR:?} of compose", required <= set(set_vars),
          f"missing {sorted(required - set(set_vars))}", ", ".join(sorted(required)))
    check(".env.example documents every ${VAR} of compose", refs <= documented,
          f"undocumented {sorted(refs - documented)}")
    check(".env.example has no variable compose does not use", documented <= refs,
          f"unused (typo?) {sorted(documented - refs)}")

    secrets = set_vars.get("WEBHOOK_SECRET", "")
    check(".env.example WEBHOOK_SECRET is whsec_<base64 >= 16 bytes>", bool(secrets) and all_whsec(secrets), f"{secrets!r}")
    tokens = [t.split(":", 1) for t in set_vars.get("API_TOKENS", "").split(",") if t.strip()]
    check(".env.example API_TOKENS are name:token (>= 16 chars)",
          bool(tokens) and all(len(t) == 2 and t[0] and len(t[1]) >= 16 for t in tokens), "bad API_TOKENS format")
    check(".env.example POSTGRES_PASSWORD is URL-safe",
          re.fullmatch(r"[A-Za-z0-9._~-]+", set_vars.get("POSTGRES_PASSWORD", "")) is not None,
          "must be URL-safe: it is embedded in DATABASE_URL")


def all_whsec(secrets):
    """Every space-separated secret is `whsec_` + base64 of at least 16 bytes."""
    try:
        return all(s.startswith("whsec_") and len(base64.b64decode(s[6:], validate=True)) >= 16
                   for s in secrets.split())
    except (binascii.Error, ValueError):
        return False
