"""The import contract: a folder is a layer, and imports point one way.

Checked on the source (every `import` statement, also inside functions), so a violation fails
`make lint` and `make test` before anyone has to notice it in review. Rules, top to bottom:

- `handlers/` is imported only by `bot.app`, the composition root;
- `bot.cli` is imported only by `bot.__main__`;
- `bot.arxiv` knows nothing of the push, the CLI, the application or the handlers;
- `bot.push` knows nothing of arXiv, the CLI, the application or the handlers;
- `bot.curation` (ranking models and their caches) knows nothing of arXiv, the push, the gateway, the
  CLI, the application, the services or the handlers: it sits below all of them;
- `bot.core` is pure: the standard library, `storage.models`, itself, and `telegram.constants`;
- `storage` imports nothing of `bot` or `handlers`.

import-linter cannot tell `telegram.constants` (plain enums) from the rest of `telegram`, hence
this test of a few lines instead.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass

from tests.support import REPO

PACKAGES = ("bot", "handlers", "storage")


@dataclass(frozen=True)
class Rule:
    layer: str  # a package or module: the rule covers it and everything below it
    forbidden: tuple[str, ...] = ()
    only: tuple[str, ...] | None = None  # if set, every import must be stdlib or start with one of these
    exempt: tuple[str, ...] = ()  # modules of the layer the rule does not cover


RULES = (
    Rule("bot", forbidden=("handlers",), exempt=("bot.app",)),
    Rule("storage", forbidden=("bot", "handlers")),
    Rule("bot", forbidden=("bot.cli",), exempt=("bot.__main__", "bot.cli")),
    Rule("handlers", forbidden=("bot.cli", "bot.app", "bot.jobs")),
    Rule("bot.arxiv", forbidden=("bot.push", "bot.cli", "bot.app", "bot.jobs", "bot.services", "handlers")),
    Rule("bot.push", forbidden=("bot.arxiv", "bot.cli", "bot.app", "bot.jobs", "handlers")),
    Rule(
        "bot.gateway", forbidden=("bot.arxiv", "bot.cli", "bot.app", "bot.jobs", "bot.services", "handlers")
    ),
    Rule(
        "bot.llm",
        forbidden=("bot.arxiv", "bot.push", "bot.cli", "bot.app", "bot.jobs", "bot.services", "handlers"),
    ),
    Rule(
        "bot.curation",
        forbidden=(
            "bot.arxiv",
            "bot.push",
            "bot.gateway",
            "bot.cli",
            "bot.app",
            "bot.jobs",
            "bot.services",
            "handlers",
        ),
    ),
    Rule("bot.core", only=("bot.core", "storage.models", "telegram.constants")),
)


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def imported_modules(source: str, module: str) -> list[str]:
    """Every module `source` (the text of `module`) imports, relative imports resolved."""
    found = []
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found += [f"{base}.{alias.name}" if base else alias.name for alias in node.names]
    return found


def violations(module: str, imports: list[str]) -> list[str]:
    problems = []
    for rule in RULES:
        if not _within(module, rule.layer) or any(_within(module, exempt) for exempt in rule.exempt):
            continue
        for name in imports:
            top = name.split(".", 1)[0]
            if any(_within(name, forbidden) for forbidden in rule.forbidden):
                problems.append(f"{module} imports {name}: {rule.layer} may not import it")
            elif (
                rule.only is not None
                and top not in sys.stdlib_module_names
                and top != "__future__"
                and not any(_within(name, allowed) for allowed in rule.only)
            ):
                problems.append(f"{module} imports {name}: {rule.layer} imports only {', '.join(rule.only)}")
    return problems


def project_modules() -> dict[str, str]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path.read_text("utf-8")
    return modules


def test_every_module_keeps_to_its_layer():
    problems = [
        problem
        for module, source in project_modules().items()
        for problem in violations(module, imported_modules(source, module))
    ]
    assert problems == [], "\n".join(problems)


def test_the_rules_catch_what_they_forbid():
    assert violations("bot.core.render", ["telegram.constants.MessageLimit", "storage.models.Paper"]) == []
    assert violations("bot.core.render", ["httpx"]) == [
        "bot.core.render imports httpx: bot.core imports only bot.core, storage.models, telegram.constants"
    ]
    assert violations("bot.core.render", ["storage.papers.PaperRepository"]) != []
    assert violations("bot.core.render", ["telegram"]) != []
    assert violations("storage.papers", ["bot.core.digest"]) != []
    assert violations("bot.jobs", ["handlers.today"]) != []
    assert violations("bot.app", ["handlers"]) == []
    assert violations("bot.push.planning", ["bot.arxiv.ingest"]) != []
    assert violations("bot.curation.store", ["bot.services"]) != []
    assert violations("bot.push.planning", ["bot.curation"]) == []


def test_relative_imports_are_resolved():
    source = "from .digest import Digest\nfrom ..services import Services\n"
    assert imported_modules(source, "bot.core.render") == ["bot.core.digest.Digest", "bot.services.Services"]


def test_every_layer_named_by_a_rule_exists():
    modules = project_modules()
    for rule in RULES:
        assert any(_within(module, rule.layer) for module in modules), rule.layer


def test_the_shell_of_bot_stays_small():
    """At most 8 modules directly in bot/ (besides __init__): anything more belongs in a sub-package."""
    shell = [path.name for path in (REPO / "bot").glob("*.py") if path.name != "__init__.py"]
    assert len(shell) <= 8, sorted(shell)
