"""The typed packages' public API: every public function and method has type hints on each
parameter and its return, and a docstring (mypy, run by .ci/run, checks the hints agree)."""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
# The packages mypy.ini checks.
TYPED_PACKAGES = ("kanerva_music/memory", "kanerva_music/prior",
                  "music_runtime/training", "music_runtime/files")


def public_functions(source: str) -> list:
  """[(name, ast function)] of a module's public functions and its public classes' public
  methods."""
  found = []
  for node in ast.parse(source).body:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
      found.append((node.name, node))
    elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
      found += [(f"{node.name}.{item.name}", item) for item in node.body
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))]
  return [(name, fn) for name, fn in found if not name.split(".")[-1].startswith("_")]


def missing(fn: ast.FunctionDef) -> list:
  """What `fn` lacks: its unannotated parameters, "return", "docstring"."""
  args = fn.args
  params = [a for a in args.posonlyargs + args.args + args.kwonlyargs
            if a.arg not in ("self", "cls")]
  params += [a for a in (args.vararg, args.kwarg) if a is not None]
  lacks = [a.arg for a in params if a.annotation is None]
  if fn.returns is None:
    lacks.append("return")
  if not ast.get_docstring(fn):
    lacks.append("docstring")
  return lacks


def test_the_checker_sees_what_is_missing():
  source = ('def typed(a: int, *, b: str = "") -> int:\n  """Doc."""\n  return a\n'
            "def bare(a, *rest, **more):\n  return a\n"
            'class Public:\n  def method(self, x: int):\n    """Doc."""\n'
            "  def _private(self, y):\n    pass\n"
            "def _helper(z):\n  pass\n")
  found = {name: missing(fn) for name, fn in public_functions(source)}
  assert found == {"typed": [], "bare": ["a", "rest", "more", "return", "docstring"],
                   "Public.method": ["return"]}


@pytest.mark.parametrize("package", TYPED_PACKAGES)
def test_every_public_function_is_typed_and_documented(package):
  gaps = [f"{path.relative_to(ROOT)}: {name} lacks {', '.join(lacks)}"
          for path in sorted((ROOT / package).glob("*.py"))
          for name, fn in public_functions(path.read_text())
          if (lacks := missing(fn))]
  assert not gaps, "\n".join(gaps)
