"""Themes: where templates and assets come from, and the Jinja environment.

A portfolio's `templates/` overrides any theme template by name; the theme is
`themes/<name>/` in the project, or a built-in one shipped in the package. All
links in templates are relative to the page being rendered (`url()`, or
`page.root` in loops), so a site works under any sub-path and from disk.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import jinja2
import markupsafe
from jinja2 import meta, nodes
from jinja2.compiler import CodeGenerator

from .charts import format_measure
from .diagnostics import Diagnostics, Where
from .fields import Fields
from .frontmatter import decode, parse_yaml
from .markup import slugify, summarize
from .model import BODY_FIELDS, EDITABLE, FIGURES
from .sources import BUILT_IN_THEMES


def theme_chain(root: Path, name: str, diags: Diagnostics) -> list[Path]:
    """The theme and the themes it `extends:` (theme.yaml), most specific first."""
    chain: list[Path] = []
    while name:
        folder = _find_theme(root, name)
        where = Where(_rel(root, chain[-1] / "theme.yaml") if chain else "mastery.yaml")
        if folder is None:
            diags.error(where, f'theme "{name}" not found in themes/ or the built-in themes')
            return []
        if folder in chain:
            diags.error(where, f'theme "{name}" extends itself (through {" → ".join(p.name for p in chain)})')
            return []
        chain.append(folder)
        name = _parent(root, folder, diags)
    return chain


def _find_theme(root: Path, name: str) -> Path | None:
    for base in (root / "themes", BUILT_IN_THEMES):
        if (base / name / "templates").is_dir():
            return base / name
    return None


def _parent(root: Path, folder: Path, diags: Diagnostics) -> str | None:
    """The `extends:` of a theme's theme.yaml, if any."""
    path = folder / "theme.yaml"
    if not path.is_file():
        return None
    text = decode(path.read_bytes(), _rel(root, path), diags)
    doc = parse_yaml(text, _rel(root, path), diags) if text is not None else None
    if doc is None or doc.node is None:
        return None
    f = Fields(doc, diags)
    items = f.mapping(doc.node, "theme.yaml") or {}
    f.unknown_keys(items, ("name", "extends", "description"), "theme.yaml")
    return f.string(items["extends"][1], "extends") if "extends" in items else None


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)


_DICT_METHODS = frozenset(dir(dict))

try:  # markupsafe's C escaping, without the Markup object `escape` wraps its result in
    from markupsafe._speedups import _escape_inner as _escape_text
except ImportError:  # another markupsafe: its public function (a Markup is a str all the same)
    _escape_text = markupsafe.escape


def escape_output(value) -> str:
    """What `{{ value }}` writes with autoescape on: the text escaped, or the HTML of a safe
    value (Markup). markupsafe's `escape` gives the same text, but as a new Markup made by
    two Python calls; `{{ }}` only writes the text, which Jinja joins into the page and wraps
    in Markup itself where a macro or block needs it. Pages render 25–40 % faster."""
    if type(value) is str:
        return _escape_text(value)
    html = getattr(value, "__html__", None)
    return html() if html is not None else _escape_text(str(value))


class SiteCodeGenerator(CodeGenerator):
    """Templates compiled to write `{{ }}` through `escape_output` where Jinja would call
    `escape` (autoescaped output known when compiling; `{% autoescape %}` blocks that
    decide while rendering keep Jinja's code)."""

    def _output_child_pre(self, node, frame, finalize) -> None:
        if frame.eval_ctx.volatile or not frame.eval_ctx.autoescape:
            return super()._output_child_pre(node, frame, finalize)
        self.write("environment.escape_output(")
        if finalize.src is not None:
            self.write(finalize.src)


class SiteEnvironment(jinja2.Environment):
    """Jinja's environment, with `x.name` on a plain dict looking up the key first. Jinja
    tries the attribute first, and on a dict (wins, stats) that costs an exception per
    lookup; names of dict methods (`items`, `get`, …) still mean the method. Its templates
    escape what they write faster (see SiteCodeGenerator)."""

    code_generator_class = SiteCodeGenerator
    escape_output = staticmethod(escape_output)

    def getattr(self, obj, attribute):
        if type(obj) is dict and attribute not in _DICT_METHODS:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        try:
            return getattr(obj, attribute)
        except AttributeError:
            pass
        try:
            return obj[attribute]
        except (TypeError, LookupError, AttributeError):
            return self.undefined(obj=obj, name=attribute)


def environment(root: Path, chain: list[Path], reload: bool = True) -> jinja2.Environment:
    """`reload`: check template files for edits at every use (the dev server); a build
    renders with the templates as they were when it started."""
    loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(root / "templates"))]
                                 + [jinja2.FileSystemLoader(str(theme / "templates")) for theme in chain])
    env = SiteEnvironment(
        loader=loader,
        autoescape=jinja2.select_autoescape(["html", "xml", "svg"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=reload,
    )
    env.globals.update(url=url, atom_id=atom_id)
    env.filters.update(slug=slugify, summary=summarize, datefmt=datefmt, duration=duration, measure=format_measure)
    return env


class CompiledTemplates(jinja2.BytecodeCache):
    """Compiled templates kept in a dict that the build cache saves (signed, like the rest of
    it: bytecode from elsewhere is never loaded). Jinja checks each against its template's
    source. Compiling the default theme costs ~70 ms, a third of rendering one edited page."""

    def __init__(self, store: dict[str, bytes]):
        self.store = store

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self.store:
            bucket.bytecode_from_string(self.store[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.store[bucket.key] = bucket.bytecode_to_string()


def root_from(page_path: str) -> str:
    """The site root as a link from the page at `page_path`: "" for "index.html" or
    "feed.xml", "../../" for "goals/x/" or "goals/x/feed.xml"."""
    return "../" * page_path.count("/")


@jinja2.pass_context
def url(context, path: str, absolute: bool = False) -> str:
    """Link to a site path, from the page's root (`page.root`: relative, or base_url on pages
    with absolute links); absolute under base_url when asked (feeds, sitemaps)."""
    path = path.lstrip("/")
    if absolute:
        return context["site"].base_url + path
    return (context["page"]["root"] + path) or "./"


@jinja2.pass_context
def atom_id(context, path: str) -> str:
    """A permanent Atom id: the absolute URL under an absolute base_url, else a name-based UUID."""
    base = context["site"].base_url
    if base.startswith(("http://", "https://")):
        return base + path
    import uuid  # here: for the feeds only, which most edits do not render (uuid imports platform: 3 ms)

    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, context['site'].title + '/' + path)}"


# The months' names as strftime gives them, found once: strftime took 5 µs a date (a goal's page
# and the wins at 10,000 sessions show 3,000: 15-25 ms of an edit)
MONTHS = tuple(dt.date(2000, month, 1).strftime("%B") for month in range(1, 13))
MONTHS_SHORT = tuple(dt.date(2000, month, 1).strftime("%b") for month in range(1, 13))


@functools.lru_cache(maxsize=4096)
def datefmt(value, style: str = "long") -> str:
    """A date as shown on pages; cached: a site shows the same few hundred days again and again."""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value)
    if style == "iso":
        return value.isoformat()
    if style == "short":
        return f"{MONTHS_SHORT[value.month - 1]} {value.day}"
    return f"{MONTHS[value.month - 1]} {value.day}, {value.year}"


def duration(minutes: int | None) -> str:
    if not minutes:
        return ""
    hours, mins = divmod(minutes, 60)
    return f"{hours} h {mins} min" if hours and mins else f"{hours} h" if hours else f"{mins} min"


SITE_WIDE = {"stats", "today"}  # globals whose value changes with almost any edit
READ_BY_HELPERS = {"pictures": FIGURES}  # globals whose functions read entries' fields (the charts: every
# session's figures of the goal given)
WATCHED = frozenset(BODY_FIELDS.union(EDITABLE))  # what an edit in place may change in an entry (see
# content.in_place_edits)


@dataclass
class TemplateReads:
    """What each template reads besides its page's context (directly or through what it extends,
    includes or imports), found from the templates' source, so custom themes are right too."""

    scope: tuple  # the page scope it was found for (see build.page_scope)
    volatile: set[str]  # templates reading the site-wide figures: their pages are rendered on every rebuild
    fields: dict[str, dict[str, frozenset[str] | None]]  # template → for each WATCHED field, the names in
    # its page's context whose entries' field it reads (see _reads); None: it may read any entry's

    def of(self, fields: Iterable[str]) -> dict[str, frozenset[str] | None]:
        """Template → the names whose entries' `fields` (any of them) it reads; None: any entry's."""
        found = {}
        for template, reads in self.fields.items():
            names: frozenset[str] | None = frozenset()
            for name in fields:
                read = reads[name]
                if read is None:
                    names = None
                    break
                names |= read
            found[template] = names
        return found


def template_reads(env: jinja2.Environment, scope: tuple) -> TemplateReads:
    """The environment's templates' reads, found once for a page scope (kept on `env`)."""
    cached = getattr(env, "_mastery_reads", None)
    if cached is not None and cached.scope == scope:
        return cached
    names = env.list_templates()
    bare = jinja2.Environment(loader=env.loader)  # meta hides names that are globals of its environment
    bare.filters, bare.tests = env.filters, env.tests
    reads: dict[str, tuple[bool, dict[str, frozenset[str] | None], list[str]]] = {}
    anything = dict.fromkeys(WATCHED)
    for name in names:
        try:
            ast = bare.parse(env.loader.get_source(env, name)[0])
            used = list(meta.find_referenced_templates(ast))
        except jinja2.TemplateError:  # reported when a page renders with it; meanwhile never reuse
            used = [None]
        if None in used:  # a template named as it renders (`{% include kind ~ ".html" %}`): any at all
            reads[name] = (True, anything, [])
        else:
            free = meta.find_undeclared_variables(ast)
            fields = _reads(ast, WATCHED)
            for helper in free & READ_BY_HELPERS.keys():
                fields.update(dict.fromkeys(READ_BY_HELPERS[helper]))
            reads[name] = (bool(free & SITE_WIDE), fields, used)

    def closure(name: str, seen: frozenset) -> tuple[bool, dict[str, frozenset[str] | None]]:
        if name not in reads or name in seen:
            return False, dict.fromkeys(WATCHED, frozenset())
        volatile, fields, used = reads[name]
        fields = dict(fields)
        for other in used:
            more_volatile, more = closure(other, seen | {name})
            volatile = volatile or more_volatile
            for field, names in fields.items():
                fields[field] = None if names is None or more[field] is None else names | more[field]
        return volatile, fields

    found = {name: closure(name, frozenset()) for name in names}
    env._mastery_reads = TemplateReads(scope, {name for name, (volatile, _) in found.items() if volatile},
                                       {name: fields for name, (_, fields) in found.items()})
    return env._mastery_reads


def _reads(ast: nodes.Template, fields: frozenset[str]) -> dict[str, frozenset[str] | None]:
    """For each of `fields`, the names of the page's context (not bound in the template) whose
    entries' field the template reads (`entry.html`, `entry.tags`; a private attribute may
    stand for any), or None when it may read others' (`s.html` in a loop,
    `map(attribute="html")`); None for all of them when it may read any attribute (a name
    built as it renders, `attr`). Printing an
    entry whole shows no body (see model.Entry); its other fields it does, which no theme does
    but to debug one: not seen. A page of a session whose body alone changed needs rendering
    again only if its template reads that session's body, and likewise its tags or its
    difficulty (see build._edit_sessions)."""
    anything = dict.fromkeys(fields)
    bound = {node.name for node in ast.find_all(nodes.Name) if node.ctx != "load"}
    for node in ast.find_all((nodes.Import, nodes.FromImport)):
        bound.update([node.target] if type(node) is nodes.Import else
                     [name if type(name) is str else name[1] for name in node.names])
    names: dict[str, set[str] | None] = {field: set() for field in fields}
    keys = set()  # the constant subscripts read as attributes, below
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        key = node.attr if type(node) is nodes.Getattr else node.arg
        if type(key) is nodes.Const:
            keys.add(id(key))
            key = key.value
        elif type(node) is nodes.Getitem:
            if _builds_text(key):
                return anything  # an attribute's name, maybe, made as it renders
            continue
        if type(key) is not str or key not in fields and not key.startswith("_"):
            continue
        base = node.node
        named = type(base) is nodes.Name and base.name not in bound
        for field in fields if key.startswith("_") else [key]:  # a private attribute may stand for any
            read = names[field]
            if not named:
                names[field] = None
            elif read is not None:
                read.add(base.name)
    if any(node.name == "attr" for node in ast.find_all(nodes.Filter)):
        return anything
    for node in ast.find_all(nodes.Const):
        if id(node) not in keys and type(node.value) is str and node.value in fields:
            names[node.value] = None  # map(attribute="html"), a subscript's name kept in a variable...
    for node in ast.find_all(nodes.Keyword):
        if node.key == "attribute" and type(node.value) is not nodes.Const:
            return anything
    return {field: None if read is None else frozenset(read) for field, read in names.items()}


def _builds_text(key: nodes.Node) -> bool:
    """Whether a subscript's key may be text made as the template renders (an index, an
    attribute's value, a loop's variable are data: `ladder[loop.index0 - 1]`, `goals[s.goal]`)."""
    return any(type(node) in (nodes.Concat, nodes.Filter, nodes.Call) or type(node) is nodes.Const
               and type(node.value) is str for node in [key, *key.find_all(nodes.Node)])
