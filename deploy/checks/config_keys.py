"""The configuration keys the service reads, to catch typos in compose and Kubernetes files.

Known keys: the contract's keys (built in below), the keys of the `REFERENCE` table under
src/config (the first argument of each `doc(…)`/`unset(…)` entry, from which the service's `KEYS`
is built), every literal `const …KEYS: &[&str] = &[…]` list there, and the README's
Configuration table.
"""

import difflib
import re

# The keys of the external contract (v1), which every deployment may set.
CONTRACT_KEYS = {
    "DATABASE_URL", "NATS_URL", "NATS_SUBJECT_PREFIX", "HTTP_ADDR", "EMPLOYES_API_URL",
    "EMPLOYES_API_KEY", "EMPLOYES_COMPANY_ID", "EMPLOYES_RATE_LIMIT", "WEBHOOK_SECRET",
    "AUTH_JWT_SECRET", "API_TOKENS", "CORS_ORIGINS", "SYNC_SCHEDULE", "SYNC_OUTDATED_AFTER",
    "LOG_FORMAT",
}
# Operational keys outside the contract (RUST_LOG and CONFIG_FILE are read outside src/config).
EXTRA_KEYS = {"NATS_STREAM_REPLICAS", "SIMULATOR_ADDR", "SHUTDOWN_TIMEOUT", "RUST_LOG", "CONFIG_FILE"}
# Keys that belong in a Secret, never in a ConfigMap.
SECRET_KEYS = {"DATABASE_URL", "EMPLOYES_API_KEY", "WEBHOOK_SECRET", "AUTH_JWT_SECRET", "API_TOKENS", "SECRETS_KEY"}

KEY_LIST = re.compile(r"const\s+\w*KEYS\s*:\s*&\[&str\]\s*=\s*&\[(.*?)\];", re.S)
KEY = re.compile(r'"([A-Z][A-Z0-9_]+)"')
REFERENCE = re.compile(r"const\s+REFERENCE\s*:\s*&\[\w+\]\s*=\s*&\[(.*?)\n\];", re.S)
REFERENCE_KEY = re.compile(r'\b(?:doc|unset)\(\s*"([A-Z][A-Z0-9_]+)"')


class KnownKeys:
    def __init__(self, ctx):
        self.report = ctx.report
        self.known = set(CONTRACT_KEYS | EXTRA_KEYS)
        sources = ["built-in list"]
        from_source = self._from_config_source(ctx)
        if from_source:
            self.known |= from_source
            sources.append(f"src/config KEYS ({len(from_source)} keys)")
        else:
            ctx.report.fail("config keys: src/config KEYS",
                            "no `const REFERENCE` table of doc(\"KEY\", …) entries nor a `const KEYS: &[&str] = &[…]` "
                            "list in src/config.rs or src/config/ (the keys the service reads)")
        from_readme = self._from_readme(ctx)
        if from_readme:
            self.known |= from_readme
            sources.append(f"README configuration table ({len(from_readme)} keys)")
            missing = sorted(CONTRACT_KEYS - from_readme)
            if missing:
                ctx.report.warn("config keys: README configuration table",
                                f"contract keys the README does not document: {missing}")
        ctx.report.ok("config keys known", f"{len(self.known)} keys from " + ", ".join(sources))

    @staticmethod
    def _from_config_source(ctx):
        files = [ctx.root / "src/config.rs", *sorted((ctx.root / "src/config").rglob("*.rs"))]
        keys = set()
        for f in files:
            if f.is_file():
                text = f.read_text()
                for block in KEY_LIST.findall(text):
                    keys |= set(KEY.findall(block))
                for block in REFERENCE.findall(text):
                    keys |= set(REFERENCE_KEY.findall(block))
        return keys

    @staticmethod
    def _from_readme(ctx):
        readme = ctx.root / "README.md"
        if not readme.is_file():
            return set()
        section = readme.read_text().split("## Configuration", 1)[-1].split("\n## ", 1)[0]
        # First column of the table: `KEY`, or `KEY_A` / `KEY_B` for keys documented together.
        cells = re.findall(r"^\|([^|]*)\|", section, re.M)
        return {k for cell in cells for k in re.findall(r"`([A-Z][A-Z0-9_]+)`", cell)}

    def check(self, name, keys):
        """One check: every key in `keys` is known; unknown ones are named with a close match."""
        unknown = sorted(set(keys) - self.known)
        hints = []
        for k in unknown:
            close = [c for c in self.known if similar(k, c)]
            hints.append(k + (f" (did you mean {close[0]}?)" if close else ""))
        self.report.check(name, not unknown, "unknown config key(s): " + ", ".join(hints), f"{len(set(keys))} keys")


def similar(a, b):
    """One edit apart, or the same letters in another order."""
    if sorted(a) == sorted(b):
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    return difflib.SequenceMatcher(None, a, b).ratio() > 0.85
