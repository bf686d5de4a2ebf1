"""What every check needs: where the repository is, the parsed YAML, the report."""

import re
from dataclasses import dataclass, field
from pathlib import Path


class Report:
    """Counts and prints one line per check: `ok`, `FAIL`, `warn` or `skip`."""

    def __init__(self):
        self.passed = self.failed = self.warned = self.skipped = 0

    def ok(self, name, detail=""):
        self.passed += 1
        print(f"ok    {name}" + (f" ({detail})" if detail else ""))

    def fail(self, name, detail):
        self.failed += 1
        print(f"FAIL  {name}: {detail}")

    def warn(self, name, detail):
        self.warned += 1
        print(f"warn  {name}: {detail}")

    def skip(self, name, detail):
        self.skipped += 1
        print(f"skip  {name}: {detail}")

    def check(self, name, cond, detail_fail, detail_ok=""):
        """`ok` when `cond` holds, else `FAIL` with `detail_fail`; returns `cond`."""
        if cond:
            self.ok(name, detail_ok)
        else:
            self.fail(name, detail_fail)
        return cond

    def summary(self):
        extra = [f"{n} {what}" for n, what in
                 ((self.failed, "failed"), (self.warned, "warnings"), (self.skipped, "skipped")) if n]
        return f"deploy validation: {self.passed} checks passed" + (", " + ", ".join(extra) if extra else "")


@dataclass
class Context:
    root: Path             # the repository
    deploy: Path           # root/deploy
    tools: Path            # optional validators installed by --install-tools (under root/target)
    report: Report
    docs: dict = field(default_factory=dict)  # every deploy/**/*.yaml: path -> list of documents
    keys: object = None    # config_keys.KnownKeys

    def rel(self, path):
        """`path` relative to the repository, for messages."""
        try:
            return str(Path(path).relative_to(self.root))
        except ValueError:
            return str(path)

    def doc(self, path):
        """The first document of a parsed YAML file, or None."""
        return (self.docs.get(path) or [None])[0]


def duration_s(value):
    """Compose/Go style duration ('40s', '1m30s', '1h', '500ms') or a number of seconds; None if neither."""
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    m = re.fullmatch(r"((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?", text)
    if not m or not text:
        return None
    h, mi, s, ms = (int(x) if x else 0 for x in (m.group(2), m.group(4), m.group(6), m.group(8)))
    return h * 3600 + mi * 60 + s + ms / 1000
