"""The driver tests' fakes (host_tests/fakes) keep the ESP32 port's API: every public class, method,
function and constant they offer exists in micropython-esp32-stubs (installed by `make setup`), and every
method takes the parameters one of the stub's overloads takes, by position and by keyword. A fake that
drifted from the real API (a renamed keyword, a method the ESP32 lacks) fails here, not on a board."""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
FAKES = ROOT / "host_tests" / "fakes"
STUBS = ROOT / ".venv" / "esp32-stubs"
MODULES = ["machine", "esp32", "neopixel"]


def _defs(tree):
    """{name: [FunctionDef...]} and {name: ClassDef} and {constant names} at one level of a module/class."""
    funcs, classes, consts = {}, {}, set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            funcs.setdefault(node.name, []).append(node)
        elif isinstance(node, ast.ClassDef):
            classes[node.name] = node
        elif isinstance(node, ast.Assign):
            consts.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            consts.add(node.target.id)
    return funcs, classes, consts


def _params(fn):
    """(positional [(name, has_default)], keyword-only {name: has_default}, *args?, **kwargs?) without self/cls."""
    a = fn.args
    pos = a.posonlyargs + a.args
    defaults = [False] * (len(pos) - len(a.defaults)) + [True] * len(a.defaults)
    positional = list(zip([p.arg for p in pos], defaults))
    posonly = len(a.posonlyargs)
    if positional and positional[0][0] in ("self", "cls"):
        positional = positional[1:]
        posonly = max(0, posonly - 1)
    kwonly = {k.arg: d is not None for k, d in zip(a.kwonlyargs, a.kw_defaults)}
    return positional, kwonly, a.vararg is not None, a.kwarg is not None, posonly


def _accepts(fake, stub):
    """The fake takes every call the stub overload describes."""
    f_pos, f_kw, f_var, f_varkw, _ = _params(fake)
    s_pos, s_kw, s_var, s_varkw, s_posonly = _params(stub)
    if s_var or s_varkw:
        return True  # the stub does not pin this signature down (Incomplete)
    if len(f_pos) < len(s_pos) or sum(not d for _, d in f_pos) > sum(not d for _, d in s_pos):
        return False
    for i, (name, _) in enumerate(s_pos):
        if i >= s_posonly and f_pos[i][0] != name:
            return False  # a keyword the stub allows must have the same name in the fake (MicroPython
            # has no "/": the fake's positional-only parameters are plain ones of any name)
    for name, has_default in s_kw.items():
        if name not in f_kw:
            return False
    return all(d for n, d in f_kw.items() if n not in s_kw)


def _offers_only_the_stubs(fake, stubs):
    """Every parameter of the fake is one some overload has: no invented keyword, no extra positional."""
    f_pos, f_kw, _, _, _ = _params(fake)
    overloads = [_params(s) for s in stubs]
    if any(o[2] or o[3] for o in overloads):
        return True
    most = max(len(o[0]) for o in overloads)
    kw = set().union(*(set(o[1]) | {n for n, _ in o[0]} for o in overloads))
    return len(f_pos) <= most and set(f_kw) <= kw


def _compare(fake_tree, stub_tree, where, checked=None):
    checked = [] if checked is None else checked
    problems = []
    f_funcs, f_classes, f_consts = _defs(fake_tree)
    s_funcs, s_classes, s_consts = _defs(stub_tree)
    for name in sorted(c for c in f_consts if not c.startswith("_")):
        if name not in s_consts:
            problems.append("%s.%s: a constant the stubs lack" % (where, name))
    for name, fakes in sorted(f_funcs.items()):
        if name.startswith("_") and name != "__init__" or name in ("__len__", "__setitem__", "__getitem__",
                                                                  "__repr__"):
            continue
        stubs = s_funcs.get(name)
        if not stubs:
            problems.append("%s.%s: not in the stubs" % (where, name))
            continue
        fake = fakes[-1]
        checked.append(where + "." + name)
        if not any(_accepts(fake, s) for s in stubs) or not _offers_only_the_stubs(fake, stubs):
            problems.append("%s.%s%s: no stub overload matches %s" % (
                where, name, ast.unparse(fake.args), [ast.unparse(s.args) for s in stubs]))
    for name, cls in sorted(f_classes.items()):
        if name.startswith("_"):
            continue
        if name not in s_classes:
            problems.append("%s.%s: a class the stubs lack" % (where, name))
            continue
        stub_cls = s_classes[name]
        # a stub class may inherit its methods from a base in the same stub module
        merged = ast.Module(body=list(stub_cls.body), type_ignores=[])
        for base in stub_cls.bases:
            if isinstance(base, ast.Name) and base.id in s_classes:
                merged.body += s_classes[base.id].body
        problems += _compare(ast.Module(body=cls.body, type_ignores=[]), merged, where + "." + name, checked)
    return problems


def _stub_tree(module):
    tree = ast.parse((STUBS / (module + ".pyi")).read_text())
    # neopixel's class inherits from a base in _mpy_shed: read it too
    if module == "neopixel":
        base = ast.parse((STUBS / "_mpy_shed" / "neopixelbase.pyi").read_text())
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and node.name == "NeoPixel":
                for b in base.body:
                    if isinstance(b, ast.ClassDef):
                        node.body += b.body
    return tree


@pytest.mark.parametrize("module", MODULES)
def test_fake_matches_the_esp32_stubs(module):
    if not STUBS.is_dir():
        pytest.fail("no ESP32 stubs at %s: run `make setup`" % STUBS)
    checked = []
    problems = _compare(ast.parse((FAKES / (module + ".py")).read_text()), _stub_tree(module), module, checked)
    assert not problems, "\n".join(problems)
    assert len(checked) >= {"machine": 20, "esp32": 8, "neopixel": 3}[module], checked


def test_the_check_catches_a_drifted_fake():
    drifted = ast.parse("class Pin:\n    def irq(self, handler=None, trigger=3, *, priority=1, wakeup=None):\n"
                        "        pass\n    def toggle_fast(self):\n        pass\n"
                        "class WDT:\n    def __init__(self, timeout=5000):\n        pass\n")
    problems = _compare(drifted, _stub_tree("machine"), "machine")
    assert any("Pin.irq" in p for p in problems)       # a keyword renamed
    assert any("toggle_fast" in p for p in problems)   # a method the ESP32 lacks
    assert any("WDT.__init__" in p for p in problems)  # timeout is keyword-only on the ESP32
