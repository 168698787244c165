# Sphinx configuration for ember's documentation site (`make docs` builds it into site/).
#
# Why Sphinx (with myst-nb, furo, autodoc/autosummary/napoleon) rather than MkDocs:
# - it is what NumPy and PyTorch document with, so ember's reference reads like theirs;
# - autosummary writes one page per public object from its docstring and signature;
# - `sphinx-build -W --keep-going -n` makes every warning fatal, broken links and unresolved
#   references included (nitpicky), so the site cannot rot silently;
# - myst-nb reads Markdown pages and executes the tutorials at build time (jupytext reads the
#   percent-format .py files as notebooks), failing the build when a cell raises.
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "_ext"))
sys.path.insert(0, os.path.dirname(HERE))  # ember from this checkout, installed or not

import ember_api  # noqa: E402

project = "ember"
author = "the ember authors"
copyright = "the ember authors, MIT licence"
release = version = "0.1.0"

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
]

# Markdown pages (.md), tutorials as jupytext percent scripts (.py), autosummary's output (.rst)
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".py": "myst-nb"}
nb_custom_formats = {".py": ["jupytext.reads", {"fmt": "py:percent"}]}
exclude_patterns = ["conf.py", "_ext", "_templates", "_build", "**/.ipynb_checkpoints", "**/__pycache__"]
templates_path = ["_templates"]
root_doc = "index"

# ----- tutorials: always executed, in their own folder, a failing cell fails the build -----
nb_execution_mode = "force"
nb_execution_raise_on_error = True
nb_execution_timeout = 300  # seconds per tutorial
nb_execution_show_tb = True
nb_merge_streams = True
# figures go into the pages through the inline backend, whatever MPLBACKEND the caller exported
# (the kernels inherit this process's environment; the tests run the same files under Agg)
os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
myst_enable_extensions = ["colon_fence", "dollarmath", "amsmath"]
myst_heading_anchors = 3

# ----- the API reference -----
autosummary_generate = True
autosummary_imported_members = True
autosummary_context = {"pytorch_names": ember_api.read_names()}
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "description"
autodoc_inherit_docstrings = False
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_custom_sections = [("Shape", "notes_style")]
add_module_names = False

# ----- strict: nitpicky; only names outside ember (NumPy, the standard library) may go unresolved -----
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(numpy|np|torch|torchvision|PIL|onnx|onnxruntime|mpi4py|matplotlib|tqdm|safetensors)(\..*)?"),
    (r"py:.*", r"(int|float|bool|str|bytes|tuple|list|dict|set|callable|object|None|complex|type|iterable|sequence)"),
    (r"py:.*", r"(collections\.abc|typing|os|pathlib|io|contextlib|enum|datetime)\..*"),
]

html_theme = "furo"
html_title = "ember"
html_static_path = []


def _first_alias_wins():
    """A class documented under two public names (``ember.no_grad`` and ``ember.autograd.no_grad``)
    registers its canonical name (``ember.autograd.function.no_grad``) twice, as an alias each
    time, and Sphinx calls that a duplicate. Keep the first alias; a real duplicate (two
    descriptions of one public name) still warns."""
    from sphinx.domains.python import PythonDomain

    note = PythonDomain.note_object

    def note_object(self, name, objtype, node_id, aliased=False, location=None):
        if aliased and name in self.objects and self.objects[name].aliased:
            return
        note(self, name, objtype, node_id, aliased=aliased, location=location)

    PythonDomain.note_object = note_object


_first_alias_wins()


# ----- ember's docstrings are plain text with RST literals: shapes such as (N, C, *) and math such
# as a * b or |x|^p are text, not emphasis or substitutions. Escape those characters outside
# literals, literal blocks and doctests; deliberate *emphasis* and **strong** stay. -----
import re  # noqa: E402

_LITERAL = re.compile(r"(``.+?``|`[^`]+`_?|:[\w:]+:`[^`]+`)")
_EMPHASIS = re.compile(r"(?<![\w*\\])(\*\*?)(?=[A-Za-z`])(.+?)(?<=[\w`.])\1(?![\w*])")


def _escape_text(text):
    keep = []

    def hold(m):
        keep.append(m.group(0))
        return f"\0{len(keep) - 1}\0"

    text = _EMPHASIS.sub(hold, _LITERAL.sub(hold, text))
    text = text.replace("*", r"\*").replace("|", r"\|")
    while "\0" in text:
        text = re.sub(r"\0(\d+)\0", lambda m: keep[int(m.group(1))], text)
    return text


def _escape_docstring(app, what, name, obj, options, lines):
    block_indent = None  # the indentation of the paragraph that opened a literal block
    table = False  # inside a grid table (from a +---+ border to the next blank line)
    for i, line in enumerate(lines):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        table = bool(stripped) and (table or re.fullmatch(r"\+[-=+]+\+", stripped) is not None)
        if block_indent is not None:
            if not stripped or indent > block_indent:
                continue
            block_indent = None
        if table or stripped.startswith(">>>") or stripped.startswith(".."):
            continue
        lines[i] = _escape_text(line)
        if stripped.endswith("::"):
            block_indent = indent


def setup(app):
    app.connect("autodoc-process-docstring", _escape_docstring)
