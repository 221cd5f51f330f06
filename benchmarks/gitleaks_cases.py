"""Run gitleaks' own rule cases against trussguard, gitleaks and kingfisher.

gitleaks defines each default rule as a Go function in
``cmd/generate/config/rules/*.go`` that ends with
``utils.Validate(r, tps, fps)`` (or ``utils.ValidateWithPaths``): the true and
false examples the rule must (not) match.  Go is not needed: this script
reads the sources straight out of a gitleaks git snapshot (bare or not) with
``git show`` and evaluates the small subset of Go those functions use (string
literals, ``+``, slice and map literals, ``append``, local variables,
``for ... range``, ``fmt.Sprintf``, the ``strings`` helpers, gitleaks'
``utils`` package, which is interpreted from the snapshot too, and
``secrets.NewSecret``, for which ``rstr`` draws a random string matching the
regex).  A rule whose cases use something outside that subset is reported as
*not extracted*, with the reason, never dropped silently.

Each case goes to its own file (``OUT/<rule-id>/tp-<n>/case.txt``, or the
path a ``ValidateWithPaths`` case gives, inside its case folder); each tool
scans OUT once; a true case counts as found when the tool reports anything in
its folder, a false case as a false positive when it does.

    python benchmarks/gitleaks_cases.py [--gitleaks-src PATH] [--out DIR] [--keep]
        [--tools trussguard,gitleaks,kingfisher] [--seed N] [--rules PATTERN] [--json FILE]

It is a measurement, not a gate: it exits 0 whatever the numbers, and 2 (one
line on stderr) when it cannot run.  Case texts are credential-shaped, so
nothing this script prints or saves holds one whole: a missed case is shown
as its first 12 characters and its length.
"""

from __future__ import annotations

import argparse
import base64
import fnmatch
import importlib
import importlib.util
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

DEFAULT_SRC = "/work/.mirror/gitleaks+gitleaks/repo"
DEFAULT_SEED = 14
RULES_DIR = "cmd/generate/config/rules"
UTILS_DIR = "cmd/generate/config/utils"
MAIN_GO = "cmd/generate/config/main.go"
TOOLS = ("trussguard", "gitleaks", "kingfisher")
REDACT_KEEP = 12


class Unsupported(Exception):
    """The evaluator met Go it does not implement; the rule is not extracted."""


# --------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------

KEYWORDS = {
    "break", "case", "chan", "const", "continue", "default", "defer", "else", "fallthrough", "for",
    "func", "go", "goto", "if", "import", "interface", "map", "package", "range", "return", "select",
    "struct", "switch", "type", "var",
}
OPERATORS = sorted(
    """... &^= <<= >>= && || <- ++ -- == != <= >= := += -= *= /= %= &= |= ^= << >> &^
    + - * / % & | ^ < > = ! ( ) [ ] { } , ; . : ~""".split(),
    key=len,
    reverse=True,
)
SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}


@dataclass
class Tok:
    kind: str  # ident, keyword, int, float, string, char, op, ';', eof
    value: Any
    line: int

    def __repr__(self) -> str:
        return f"{self.kind}:{self.value!r}@{self.line}"


def _byte_char(b: int) -> str:
    """A Go string byte as a Python character: ASCII as is, others escaped so
    that ``encode('utf-8', 'surrogateescape')`` gives the byte back."""
    return chr(b) if b < 0x80 else chr(0xDC00 + b)


def unquote_go(body: str, quote: str, line: int) -> str:
    """The value of an interpreted Go string (or rune) literal body."""
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        if i + 1 >= len(body):
            raise Unsupported(f"line {line}: bad escape at end of literal")
        e = body[i + 1]
        if e in SIMPLE_ESCAPES:
            out.append(SIMPLE_ESCAPES[e])
            i += 2
        elif e == quote:
            out.append(quote)
            i += 2
        elif e in "01234567":
            out.append(_byte_char(int(body[i + 1 : i + 4], 8)))
            i += 4
        elif e == "x":
            out.append(_byte_char(int(body[i + 2 : i + 4], 16)))
            i += 4
        elif e == "u":
            out.append(chr(int(body[i + 2 : i + 6], 16)))
            i += 6
        elif e == "U":
            out.append(chr(int(body[i + 2 : i + 10], 16)))
            i += 10
        else:
            raise Unsupported(f"line {line}: unknown escape \\{e}")
    return "".join(out)


IDENT_RE = re.compile(r"[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*")
NUMBER_RE = re.compile(r"0[xX][0-9a-fA-F_]+|0[oO]?[0-7_]+|0[bB][01_]+|\d[\d_]*(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+")
INTERP_RE = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
RAW_RE = re.compile(r"`([^`]*)`", re.S)
CHAR_RE = re.compile(r"'((?:[^'\\\n]|\\.[^']*)*)'")


def tokenize(src: str) -> list[Tok]:
    """Go tokens, with semicolons inserted at line ends as the Go spec says."""
    toks: list[Tok] = []
    i, line, n = 0, 1, len(src)

    def add(kind: str, value: Any) -> None:
        toks.append(Tok(kind, value, line))

    def newline() -> None:
        if toks and (
            toks[-1].kind in ("ident", "int", "float", "string", "char")
            or (toks[-1].kind == "keyword" and toks[-1].value in ("break", "continue", "fallthrough", "return"))
            or (toks[-1].kind == "op" and toks[-1].value in ("++", "--", ")", "]", "}"))
        ):
            add(";", "\n")

    while i < n:
        c = src[i]
        if c == "\n":
            newline()
            line += 1
            i += 1
        elif c in " \t\r":
            i += 1
        elif src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            if j < 0:
                raise Unsupported(f"line {line}: unterminated comment")
            chunk = src[i : j + 2]
            if "\n" in chunk:
                newline()
                line += chunk.count("\n")
            i = j + 2
        elif c == '"':
            m = INTERP_RE.match(src, i)
            if not m:
                raise Unsupported(f"line {line}: unterminated string")
            add("string", unquote_go(m.group(1), '"', line))
            i = m.end()
        elif c == "`":
            m = RAW_RE.match(src, i)
            if not m:
                raise Unsupported(f"line {line}: unterminated raw string")
            add("string", m.group(1).replace("\r", ""))
            line += m.group(0).count("\n")
            i = m.end()
        elif c == "'":
            m = CHAR_RE.match(src, i)
            if not m:
                raise Unsupported(f"line {line}: bad rune literal")
            add("char", unquote_go(m.group(1), "'", line))
            i = m.end()
        elif c.isdigit() or (c == "." and i + 1 < n and src[i + 1].isdigit()):
            m = NUMBER_RE.match(src, i)
            text = m.group(0).replace("_", "")
            if any(ch in text for ch in ".eE") and not text.lower().startswith("0x"):
                add("float", float(text))
            else:
                add("int", int(text, 0) if not re.fullmatch(r"0[0-7]+", text) else int(text, 8))
            i = m.end()
        elif (m := IDENT_RE.match(src, i)) :
            word = m.group(0)
            add("keyword" if word in KEYWORDS else "ident", word)
            i = m.end()
        else:
            for op in OPERATORS:
                if src.startswith(op, i):
                    if op == ";":
                        add(";", ";")
                    else:
                        add("op", op)
                    i += len(op)
                    break
            else:
                raise Unsupported(f"line {line}: unexpected character {c!r}")
    newline()
    add("eof", None)
    return toks


# --------------------------------------------------------------------------
# Parser: a Go subset, to tuples
# --------------------------------------------------------------------------
# Expressions: ("lit", v) ("name", id) ("sel", x, id) ("call", f, args, ellipsis)
# ("index", x, i) ("slice", x, lo, hi) ("binop", op, a, b) ("unop", op, x)
# ("complit", type|None, [(key|None, value)]) ("type", t) ("funclit", params, body)
# ("typeassert", x) -- Types: ("tname", "pkg.Name") ("slice", t) ("array", n, t)
# ("map", k, v) ("ptr", t) ("func",) ("struct",) ("iface",) ("chan", t)
# Statements carry their line: (kind, line, ...)

BINARY_PREC = {
    "||": 1, "&&": 2,
    "==": 3, "!=": 3, "<": 3, "<=": 3, ">": 3, ">=": 3,
    "+": 4, "-": 4, "|": 4, "^": 4,
    "*": 5, "/": 5, "%": 5, "<<": 5, ">>": 5, "&": 5, "&^": 5,
}
ASSIGN_OPS = {":=", "=", "+=", "-=", "*=", "/=", "%=", "|=", "&=", "^=", "<<=", ">>=", "&^="}


@dataclass
class FuncDecl:
    name: str
    params: list[str]
    variadic: bool
    body: list
    line: int
    receiver: bool = False


@dataclass
class GoFile:
    package: str
    imports: dict[str, str]  # local name -> import path
    funcs: dict[str, FuncDecl]
    vars: list  # (names, type, exprs, line)


class Parser:
    def __init__(self, toks: list[Tok], fname: str = "?"):
        self.toks = toks
        self.pos = 0
        self.fname = fname
        self.no_complit = 0

    # token helpers
    @property
    def tok(self) -> Tok:
        return self.toks[self.pos]

    def peek(self, k: int = 1) -> Tok:
        return self.toks[min(self.pos + k, len(self.toks) - 1)]

    def is_op(self, *ops: str) -> bool:
        return self.tok.kind == "op" and self.tok.value in ops

    def is_kw(self, *kws: str) -> bool:
        return self.tok.kind == "keyword" and self.tok.value in kws

    def next(self) -> Tok:
        t = self.tok
        self.pos += 1
        return t

    def fail(self, what: str) -> Unsupported:
        return Unsupported(f"{self.fname}:{self.tok.line}: {what} (at {self.tok.value!r})")

    def expect_op(self, op: str) -> Tok:
        if not self.is_op(op):
            raise self.fail(f"expected {op!r}")
        return self.next()

    def expect_ident(self) -> str:
        if self.tok.kind != "ident":
            raise self.fail("expected a name")
        return self.next().value

    def skip_semis(self) -> None:
        while self.tok.kind == ";":
            self.pos += 1

    def end_stmt(self) -> None:
        if self.tok.kind == ";":
            self.pos += 1
        elif not (self.is_op("}", ")") or self.tok.kind == "eof"):
            raise self.fail("expected end of statement")

    # file level
    def parse_file(self) -> GoFile:
        self.skip_semis()
        if not self.is_kw("package"):
            raise self.fail("expected package clause")
        self.next()
        package = self.expect_ident()
        self.end_stmt()
        imports: dict[str, str] = {}
        funcs: dict[str, FuncDecl] = {}
        gvars: list = []
        self.skip_semis()
        while self.is_kw("import"):
            self.next()
            specs = []
            if self.is_op("("):
                self.next()
                self.skip_semis()
                while not self.is_op(")"):
                    specs.append(self.parse_import_spec())
                    self.end_stmt()
                    self.skip_semis()
                self.next()
            else:
                specs.append(self.parse_import_spec())
            for alias, path in specs:
                imports[alias or path.rsplit("/", 1)[-1]] = path
            self.end_stmt()
            self.skip_semis()
        while self.tok.kind != "eof":
            if self.is_kw("func"):
                fd = self.parse_func_decl()
                if not fd.receiver:
                    funcs[fd.name] = fd
            elif self.is_kw("var", "const"):
                gvars.extend(self.parse_var_decl())
            elif self.is_kw("type"):
                self.skip_type_decl()
            else:
                raise self.fail("unexpected top-level declaration")
            self.end_stmt()
            self.skip_semis()
        return GoFile(package, imports, funcs, gvars)

    def parse_import_spec(self) -> tuple[str | None, str]:
        alias = None
        if self.tok.kind == "ident" or self.is_op("."):
            alias = self.next().value
        if self.tok.kind != "string":
            raise self.fail("expected import path")
        return alias, self.next().value

    def skip_type_decl(self) -> None:
        self.next()
        if self.is_op("("):
            self.skip_balanced()
        else:
            self.expect_ident()
            if self.is_op("="):
                self.next()
            self.parse_type()

    def skip_balanced(self) -> None:
        pairs = {"(": ")", "[": "]", "{": "}"}
        stack = []
        while True:
            t = self.next()
            if t.kind == "eof":
                raise self.fail("unbalanced brackets")
            if t.kind == "op" and t.value in pairs:
                stack.append(pairs[t.value])
            elif t.kind == "op" and stack and t.value == stack[-1]:
                stack.pop()
                if not stack:
                    return

    def parse_func_decl(self) -> FuncDecl:
        line = self.next().line  # func
        receiver = False
        if self.is_op("("):
            receiver = True
            self.skip_balanced()
        name = self.expect_ident()
        params, variadic = self.parse_params()
        self.parse_results()
        body = self.parse_block() if self.is_op("{") else []
        return FuncDecl(name, params, variadic, body, line, receiver)

    def parse_params(self) -> tuple[list[str], bool]:
        """Parameter names (Go groups ``a, b string``); types are ignored."""
        self.expect_op("(")
        groups: list[list] = []  # each: [names-or-type tokens...]
        variadic = False
        while not self.is_op(")"):
            if self.is_op("..."):
                self.next()
                variadic = True
            start = self.pos
            if self.tok.kind == "ident" and not (self.peek().kind == "op" and self.peek().value in (",", ")", ".")):
                name = self.next().value
                if self.is_op("..."):
                    self.next()
                    variadic = True
                self.parse_type()
                groups.append([name, True])
            else:
                self.pos = start
                self.parse_type()
                groups.append([self.toks[start].value if self.toks[start].kind == "ident" else "_", False])
            if self.is_op(","):
                self.next()
        self.next()
        # `a, b string`: the names without a type of their own came out as types
        if any(has_type for _, has_type in groups):
            return [name for name, _ in groups], variadic
        return ["_"] * len(groups), variadic

    def parse_results(self) -> None:
        if self.is_op("("):
            self.skip_balanced()
        elif not self.is_op("{") and self.tok.kind != ";":
            self.parse_type()

    def parse_type(self):
        t = self.tok
        if self.is_op("*"):
            self.next()
            return ("ptr", self.parse_type())
        if self.is_op("["):
            self.next()
            if self.is_op("]"):
                self.next()
                return ("slice", self.parse_type())
            if self.is_op("..."):
                self.next()
                n = None
            else:
                n = self.parse_expr()
            self.expect_op("]")
            return ("array", n, self.parse_type())
        if self.is_kw("map"):
            self.next()
            self.expect_op("[")
            k = self.parse_type()
            self.expect_op("]")
            return ("map", k, self.parse_type())
        if self.is_kw("func"):
            self.next()
            self.parse_params()
            if not self.is_op("{", ")", ",", "]", "}", "=") and self.tok.kind != ";":
                self.parse_results()
            return ("func",)
        if self.is_kw("struct", "interface"):
            self.next()
            self.skip_balanced()
            return ("struct",) if t.value == "struct" else ("iface",)
        if self.is_kw("chan"):
            self.next()
            return ("chan", self.parse_type())
        if self.is_op("("):
            self.next()
            inner = self.parse_type()
            self.expect_op(")")
            return inner
        if t.kind == "ident":
            self.next()
            name = t.value
            if self.is_op(".") and self.peek().kind == "ident":
                self.next()
                name += "." + self.next().value
            return ("tname", name)
        raise self.fail("expected a type")

    def parse_var_decl(self) -> list:
        """``var``/``const`` declaration(s): [(names, type, exprs, line)]."""
        self.next()
        out = []
        if self.is_op("("):
            self.next()
            self.skip_semis()
            while not self.is_op(")"):
                out.append(self.parse_var_spec())
                self.end_stmt()
                self.skip_semis()
            self.next()
        else:
            out.append(self.parse_var_spec())
        return out

    def parse_var_spec(self):
        line = self.tok.line
        names = [self.expect_ident()]
        while self.is_op(","):
            self.next()
            names.append(self.expect_ident())
        typ = None
        if not self.is_op("=") and self.tok.kind != ";" and not self.is_op(")"):
            typ = self.parse_type()
        exprs = []
        if self.is_op("="):
            self.next()
            exprs = self.parse_expr_list()
        return (names, typ, exprs, line)

    # statements
    def parse_block(self) -> list:
        self.expect_op("{")
        stmts = []
        self.skip_semis()
        while not self.is_op("}"):
            start = self.pos
            try:
                stmts.append(self.parse_stmt())
                self.end_stmt()
            except Unsupported as e:
                # only the function that runs this statement fails, not the file
                self.pos = start
                self.skip_statement()
                stmts.append(("unsupported", self.toks[start].line, str(e)))
            self.skip_semis()
        self.next()
        return stmts

    def skip_statement(self) -> None:
        """Past the statement at the cursor: to the next ';' or the block's '}' at depth 0."""
        depth = 0
        while self.tok.kind != "eof":
            t = self.tok
            if t.kind == "op" and t.value in ("(", "[", "{"):
                depth += 1
            elif t.kind == "op" and t.value in (")", "]", "}"):
                if depth == 0:
                    return
                depth -= 1
            elif t.kind == ";" and depth == 0:
                self.next()
                return
            self.next()

    def parse_stmt(self):
        t = self.tok
        line = t.line
        if t.kind == "keyword":
            kw = t.value
            if kw in ("var", "const"):
                return ("var", line, self.parse_var_decl())
            if kw == "return":
                self.next()
                exprs = [] if (self.tok.kind == ";" or self.is_op("}")) else self.parse_expr_list()
                return ("return", line, exprs)
            if kw in ("break", "continue"):
                self.next()
                if self.tok.kind == "ident":
                    raise self.fail(f"labelled {kw}")
                return (kw, line)
            if kw == "if":
                return self.parse_if()
            if kw == "for":
                return self.parse_for()
            if kw == "type":
                self.skip_type_decl()
                return ("empty", line)
            if kw != "func":
                raise self.fail(f"unsupported statement {kw!r}")
        if self.is_op("{"):
            return ("block", line, self.parse_block())
        return self.parse_simple_stmt()

    def parse_simple_stmt(self):
        line = self.tok.line
        lhs = self.parse_expr_list()
        if self.tok.kind == "op" and self.tok.value in ASSIGN_OPS:
            op = self.next().value
            if self.is_kw("range"):
                self.next()
                return ("range", line, lhs, op, self.parse_expr())
            return ("assign", line, lhs, op, self.parse_expr_list())
        if self.is_op("++", "--"):
            op = self.next().value
            return ("assign", line, lhs, "+=" if op == "++" else "-=", [("lit", 1)])
        if len(lhs) != 1:
            raise self.fail("expression list as a statement")
        return ("expr", line, lhs[0])

    def parse_if(self):
        line = self.next().line
        self.no_complit += 1
        init = None
        if self.tok.kind == ";":
            self.next()
        else:
            s = self.parse_simple_stmt()
            if self.tok.kind == ";":
                self.next()
                init = s
                s = self.parse_simple_stmt()
            if s[0] != "expr":
                raise self.fail("if condition is not an expression")
            cond = s[2]
        self.no_complit -= 1
        body = self.parse_block()
        orelse = None
        if self.is_kw("else"):
            self.next()
            orelse = [self.parse_if()] if self.is_kw("if") else self.parse_block()
        return ("if", line, init, cond, body, orelse)

    def parse_for(self):
        line = self.next().line
        if self.is_op("{"):
            return ("for", line, None, None, None, self.parse_block())
        self.no_complit += 1
        if self.is_kw("range"):
            self.next()
            s = ("range", line, [], "=", self.parse_expr())
        else:
            s = None if self.tok.kind == ";" else self.parse_simple_stmt()
        if s is not None and s[0] == "range":
            self.no_complit -= 1
            return ("forrange", line, s[2], s[3], s[4], self.parse_block())
        init = cond = post = None
        if self.tok.kind == ";":
            self.next()
            init = s
            if self.tok.kind != ";":
                cond = self.parse_expr()
            if self.tok.kind != ";":
                raise self.fail("expected ';' in for clause")
            self.next()
            if not self.is_op("{"):
                post = self.parse_simple_stmt()
        else:
            if s is None or s[0] != "expr":
                raise self.fail("bad for clause")
            cond = s[2]
        self.no_complit -= 1
        return ("for", line, init, cond, post, self.parse_block())

    # expressions
    def parse_expr_list(self) -> list:
        out = [self.parse_expr()]
        while self.is_op(","):
            self.next()
            out.append(self.parse_expr())
        return out

    def parse_expr(self, min_prec: int = 1):
        left = self.parse_unary()
        while self.tok.kind == "op" and BINARY_PREC.get(self.tok.value, 0) >= min_prec:
            op = self.next().value
            right = self.parse_expr(BINARY_PREC[op] + 1)
            left = ("binop", op, left, right)
        return left

    def parse_unary(self):
        if self.tok.kind == "op" and self.tok.value in ("+", "-", "!", "^", "*", "&", "<-"):
            op = self.next().value
            return ("unop", op, self.parse_unary())
        return self.parse_primary()

    def parse_operand(self):
        t = self.tok
        if t.kind in ("string", "int", "float", "char"):
            self.next()
            return ("lit", t.value)
        if t.kind == "ident":
            self.next()
            return ("name", t.value)
        if self.is_op("("):
            self.next()
            saved, self.no_complit = self.no_complit, 0
            e = self.parse_expr()
            self.no_complit = saved
            self.expect_op(")")
            return e
        if self.is_op("[") or self.is_kw("map", "chan", "struct", "interface"):
            return ("type", self.parse_type())
        if self.is_kw("func"):
            self.next()
            params, variadic = self.parse_params()
            self.parse_results()
            if self.is_op("{"):
                saved, self.no_complit = self.no_complit, 0
                body = self.parse_block()
                self.no_complit = saved
                return ("funclit", params, variadic, body)
            return ("type", ("func",))
        raise self.fail("expected an expression")

    def parse_primary(self):
        x = self.parse_operand()
        while True:
            if self.is_op("."):
                self.next()
                if self.is_op("("):
                    self.skip_balanced()
                    x = ("typeassert", x)
                else:
                    x = ("sel", x, self.expect_ident())
            elif self.is_op("["):
                self.next()
                saved, self.no_complit = self.no_complit, 0
                lo = None if self.is_op(":") else self.parse_expr()
                if self.is_op(":"):
                    self.next()
                    hi = None if self.is_op("]") else self.parse_expr()
                    x = ("slice", x, lo, hi)
                else:
                    x = ("index", x, lo)
                self.no_complit = saved
                self.expect_op("]")
            elif self.is_op("("):
                self.next()
                saved, self.no_complit = self.no_complit, 0
                args, ellipsis = [], False
                self.skip_semis()
                while not self.is_op(")"):
                    args.append(self.parse_expr())
                    if self.is_op("..."):
                        self.next()
                        ellipsis = True
                    if self.is_op(","):
                        self.next()
                    self.skip_semis()
                self.next()
                self.no_complit = saved
                x = ("call", x, args, ellipsis)
            elif self.is_op("{") and self.complit_ok(x):
                x = ("complit", self.as_type(x), self.parse_complit_body())
            else:
                return x

    def complit_ok(self, x) -> bool:
        if x[0] == "type":
            return x[1][0] in ("slice", "array", "map", "struct")
        if self.no_complit:
            return False
        return x[0] == "name" or (x[0] == "sel" and x[1][0] == "name")

    @staticmethod
    def as_type(x):
        if x[0] == "type":
            return x[1]
        if x[0] == "name":
            return ("tname", x[1])
        return ("tname", f"{x[1][1]}.{x[2]}")

    def parse_complit_body(self) -> list:
        self.expect_op("{")
        saved, self.no_complit = self.no_complit, 0
        elems = []
        self.skip_semis()
        while not self.is_op("}"):
            key, value = None, self.parse_element()
            if self.is_op(":"):
                self.next()
                key, value = value, self.parse_element()
            elems.append((key, value))
            if self.is_op(","):
                self.next()
            self.skip_semis()
        self.next()
        self.no_complit = saved
        return elems

    def parse_element(self):
        if self.is_op("{"):
            return ("complit", None, self.parse_complit_body())
        return self.parse_expr()


def parse_go(src: str, fname: str = "?") -> GoFile:
    return Parser(tokenize(src), fname).parse_file()


# --------------------------------------------------------------------------
# Values and the interpreter
# --------------------------------------------------------------------------


@dataclass
class Poison:
    """A value the evaluator could not compute; harmless until a case needs it."""

    reason: str


@dataclass
class Struct:
    type: str
    fields: dict = field(default_factory=dict)


@dataclass
class GoRegex:
    pattern: str


@dataclass
class Builtin:
    name: str
    fn: Callable


@dataclass
class Closure:
    decl: FuncDecl
    pkg: "Package"
    env: "Env | None" = None


class Replacer:
    """strings.NewReplacer: at each position the first matching pair, in argument order."""

    def __init__(self, pairs: list[str]):
        if len(pairs) % 2:
            raise Unsupported("strings.NewReplacer with an odd argument count")
        self.pairs = [(pairs[i], pairs[i + 1]) for i in range(0, len(pairs), 2)]

    def replace(self, s: str) -> str:
        out, i = [], 0
        while i < len(s):
            for old, new in self.pairs:
                if old and s.startswith(old, i):
                    out.append(new)
                    i += len(old)
                    break
            else:
                out.append(s[i])
                i += 1
        return "".join(out)


class Builder:
    """strings.Builder."""

    def __init__(self) -> None:
        self.parts: list[str] = []


class ReturnSignal(Exception):
    def __init__(self, values: list):
        self.values = values


class BreakSignal(Exception):
    pass


class ContinueSignal(Exception):
    pass


class Env:
    def __init__(self, parent: "Env | None" = None):
        self.vars: dict[str, Any] = {}
        self.parent = parent

    def lookup(self, name: str):
        env = self
        while env is not None:
            if name in env.vars:
                return env, env.vars[name]
            env = env.parent
        return None, None


@dataclass
class Package:
    name: str
    funcs: dict[str, FuncDecl] = field(default_factory=dict)
    var_specs: dict[str, tuple] = field(default_factory=dict)  # name -> (spec, index)
    values: dict[str, Any] = field(default_factory=dict)
    imports: dict[str, dict[str, str]] = field(default_factory=dict)  # func name -> imports of its file
    file_of_var: dict[str, dict[str, str]] = field(default_factory=dict)


MAX_LOOP = 1_000_000
PLAUSIBLE_TRIES = 100_000


def first_poison(v: Any) -> Poison | None:
    if isinstance(v, Poison):
        return v
    if isinstance(v, list):
        for x in v:
            if (p := first_poison(x)) is not None:
                return p
    if isinstance(v, dict):
        for k, x in v.items():
            if (p := first_poison(k)) is not None or (p := first_poison(x)) is not None:
                return p
    return None


def go_quote(s: str) -> str:
    """strconv.Quote (the %q verb), for printable ASCII and common escapes."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif 0xDC80 <= o <= 0xDCFF:
            out.append(f"\\x{o - 0xDC00:02x}")
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\x{o:02x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def go_str(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, GoRegex):
        return v.pattern
    if isinstance(v, (str, int, float)):
        return str(v)
    if isinstance(v, list):
        return "[" + " ".join(go_str(x) for x in v) + "]"
    raise Unsupported(f"cannot format a {type(v).__name__}")


def sprintf(fmt: str, args: list) -> str:
    out, i, ai = [], 0, 0
    while i < len(fmt):
        c = fmt[i]
        if c != "%":
            out.append(c)
            i += 1
            continue
        m = re.compile(r"%([-+# 0]*)(\d*)(?:\.(\d+))?([a-zA-Z%])").match(fmt, i)
        if not m:
            raise Unsupported(f"Sprintf format {fmt!r}")
        flags, width, _prec, verb = m.groups()
        i = m.end()
        if verb == "%":
            out.append("%")
            continue
        if ai >= len(args):
            raise Unsupported(f"Sprintf {fmt!r}: missing argument")
        a = args[ai]
        ai += 1
        if verb in "sv":
            s = go_str(a)
        elif verb == "d":
            if not isinstance(a, int):
                raise Unsupported("Sprintf %d of a non-integer")
            s = str(a)
        elif verb == "q":
            s = go_quote(go_str(a))
        elif verb in "xX" and isinstance(a, int):
            s = format(a, verb)
        else:
            raise Unsupported(f"Sprintf verb %{verb}")
        if width:
            s = s.ljust(int(width)) if "-" in flags else s.rjust(int(width), "0" if "0" in flags else " ")
        out.append(s)
    return "".join(out)


def b64_encoder(std: bool, pad: bool) -> Callable[[str], str]:
    def enc(s: str) -> str:
        raw = s.encode("utf-8", "surrogateescape")
        e = base64.b64encode(raw) if std else base64.urlsafe_b64encode(raw)
        e = e.decode()
        return e if pad else e.rstrip("=")

    return enc


def go_regex_to_python(pattern: str) -> str:
    """The few Go (RE2) spellings Python's parser reads differently."""
    return pattern.replace(r"\z", r"\Z")


class SecretGenerator:
    """secrets.NewSecret: a random string matching a regex.  gitleaks uses
    lucasjones/reggen with a repeat limit of 1; rstr's xeger draws the
    characters here, with reggen's repeat counts (see RegGenXeger)."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self._xeger = None  # built on first use: rstr is needed only when a case draws a secret
        self.re2 = None
        try:
            import re2  # google-re2, a trussguard dependency: RE2 is Go's syntax

            self.re2 = re2
        except ImportError:  # pragma: no cover
            pass
        self.regexes: list[str] = []

    @property
    def xeger(self):
        if self._xeger is None:
            try:
                from rstr.xeger import Xeger
            except ImportError as e:
                raise RuntimeError("rstr is not installed: pip install -e '.[bench]'") from e

            class RegGenXeger(Xeger):
                # Repeat counts as reggen's Generate(1) draws them (gitleaks' NewSecret):
                # {n,m} and {n,} give exactly n unless n is 0 (then 0 or 1), * gives 0
                # or 1, + gives 1, ? gives 0 or 1.  (Plain rstr also caps every repeat,
                # even an exact {108}, at 100 and fails on such regexes.)
                def _handle_repeat(self, start_range: int, end_range: int, value) -> str:
                    times = self._random.randint(0, 1) if start_range == 0 and end_range >= 1 else start_range
                    return "".join("".join(self._handle_state(s) for s in value) for _ in range(times))

            self._xeger = RegGenXeger(self.rng)
        return self._xeger

    def matches(self, pattern: str, s: str) -> bool:
        if self.re2 is not None:
            try:
                return self.re2.fullmatch(pattern, s) is not None
            except Exception:  # noqa: BLE001 - RE2 refuses some Python-only syntax
                pass
        return re.fullmatch(go_regex_to_python(pattern), s) is not None

    def __call__(self, pattern: str) -> str:
        self.regexes.append(pattern)
        py = go_regex_to_python(pattern)
        try:
            re.compile(py)
        except re.error as e:
            raise Unsupported(f"NewSecret regex not readable: {e}") from None
        for _ in range(20):
            s = self.xeger.xeger(py)
            # \b and friends generate nothing: a draw that breaks one is drawn again
            if self.matches(pattern, s):
                return s
        raise Unsupported(f"NewSecret could not draw a match for a regex of {len(pattern)} chars")


def zero_value(typ) -> Any:
    if typ is None:
        return Poison("untyped var")
    kind = typ[0]
    if kind == "tname":
        if typ[1] == "string":
            return ""
        if typ[1] in ("int", "int64", "int32", "uint", "byte", "rune", "float64"):
            return 0
        if typ[1] == "bool":
            return False
        if typ[1] == "strings.Builder":
            return Builder()
        return Struct(typ[1])
    if kind in ("slice", "map", "ptr", "func", "iface", "chan"):
        return None
    return Poison(f"zero value of {typ}")


class Interpreter:
    def __init__(self, packages: dict[str, Package], rng: random.Random):
        self.packages = packages
        self.rng = rng
        self.new_secret = SecretGenerator(rng)
        self.records: list[tuple] = []
        self.stdlib = self.make_stdlib()

    # -- package members --------------------------------------------------
    def make_stdlib(self) -> dict[str, dict[str, Any]]:
        def b(name, fn):
            return Builtin(name, fn)

        enc = {
            "StdEncoding": b64_encoder(True, True),
            "RawStdEncoding": b64_encoder(True, False),
            "URLEncoding": b64_encoder(False, True),
            "RawURLEncoding": b64_encoder(False, False),
        }
        return {
            "fmt": {"Sprintf": b("fmt.Sprintf", lambda f, *a: sprintf(f, list(a)))},
            "strings": {
                "Repeat": b("strings.Repeat", lambda s, n: s * n),
                "ToUpper": b("strings.ToUpper", lambda s: s.upper()),
                "ToLower": b("strings.ToLower", lambda s: s.lower()),
                "Join": b("strings.Join", lambda xs, sep: sep.join(xs or [])),
                "ReplaceAll": b("strings.ReplaceAll", lambda s, o, n: s.replace(o, n)),
                "Replace": b("strings.Replace", lambda s, o, n, k: s.replace(o, n, k if k >= 0 else -1)),
                "TrimSpace": b("strings.TrimSpace", lambda s: s.strip(" \t\n\r\v\f")),
                "Contains": b("strings.Contains", lambda s, sub: sub in s),
                "HasPrefix": b("strings.HasPrefix", lambda s, p: s.startswith(p)),
                "HasSuffix": b("strings.HasSuffix", lambda s, p: s.endswith(p)),
                "NewReplacer": b("strings.NewReplacer", lambda *a: Replacer(list(a))),
            },
            "encoding/base64": {k: Struct("base64.Encoding", {"__encode": v}) for k, v in enc.items()},
            "regexp": {"MustCompile": b("regexp.MustCompile", lambda p: GoRegex(p))},
            "secrets": {"NewSecret": b("secrets.NewSecret", self.new_secret)},
        }

    def import_target(self, path: str) -> tuple[str, Any]:
        """('pkg', Package) for an interpreted package, ('std', members) or ('opaque', path)."""
        if path.endswith("/cmd/generate/config/utils"):
            return "pkg", self.packages["utils"]
        if path.endswith("/cmd/generate/config/rules"):
            return "pkg", self.packages["rules"]
        if path.endswith("/cmd/generate/secrets"):
            return "std", self.stdlib["secrets"]
        if path == "regexp" or path.endswith("/regexp"):
            return "std", self.stdlib["regexp"]
        if path in self.stdlib:
            return "std", self.stdlib[path]
        return "opaque", path

    def pkg_member(self, pkg: Package, name: str) -> Any:
        if pkg.name == "utils" and name in ("Validate", "ValidateWithPaths"):
            return Builtin(f"utils.{name}", getattr(self, "validate" if name == "Validate" else "validate_paths"))
        if name in pkg.funcs:
            return Closure(pkg.funcs[name], pkg)
        if name in pkg.values:
            return pkg.values[name]
        if name in pkg.var_specs:
            spec, idx = pkg.var_specs[name]
            pkg.values[name] = Poison(f"package var {name} refers to itself")
            names, typ, exprs, _line = spec
            env = Env()
            env.vars["__pkg__"] = pkg
            env.vars["__imports__"] = pkg.file_of_var[name]
            if exprs:
                try:
                    vals = self.eval_list(exprs, env)
                except Unsupported as e:
                    vals = [Poison(str(e))] * len(names)
                value = vals[idx] if idx < len(vals) else Poison(f"var {name}: value count")
            else:
                value = zero_value(typ)
            pkg.values[name] = value
            return value
        return Poison(f"unknown name {pkg.name}.{name}")

    # -- gitleaks' Validate -------------------------------------------------
    def validate(self, rule, tps, fps):
        self.records.append((rule, tps, fps, False))
        return rule

    def validate_paths(self, rule, tps, fps):
        self.records.append((rule, tps, fps, True))
        return rule

    # -- calls -----------------------------------------------------------
    def call(self, f, args: list, line: int) -> list:
        """Call f; always returns the list of results."""
        if isinstance(f, Poison):
            return [f]
        if (
            any(isinstance(a, Poison) for a in args)
            and not isinstance(f, Closure)
            and not (isinstance(f, Builtin) and f.name.startswith("utils.Validate"))
        ):
            return [next(a for a in args if isinstance(a, Poison))]
        if isinstance(f, Builtin):
            try:
                r = f.fn(*args)
            except Unsupported:
                raise
            except (TypeError, ValueError, AttributeError, KeyError, IndexError) as e:
                raise Unsupported(f"line {line}: {f.name}: {e}") from None
            return list(r) if isinstance(r, tuple) else [r]
        if isinstance(f, Closure):
            return self.call_closure(f, args, line)
        if isinstance(f, tuple) and f[0] == "method":
            return self.call_method(f[1], f[2], args, line)
        if isinstance(f, tuple) and f[0] == "conv":
            return [self.convert(f[1], args, line)]
        raise Unsupported(f"line {line}: calling a {type(f).__name__}")

    def call_closure(self, f: Closure, args: list, line: int) -> list:
        d = f.decl
        env = Env(f.env)
        if f.env is None:
            env.vars["__pkg__"] = f.pkg
            env.vars["__imports__"] = f.pkg.imports.get(d.name, {})
        params = list(d.params)
        if d.variadic:
            fixed = params[:-1]
            rest = args[len(fixed) :]
            args = args[: len(fixed)] + [rest]
        if len(args) != len(params):
            raise Unsupported(f"line {line}: {d.name} takes {len(params)} arguments, got {len(args)}")
        for p, a in zip(params, args):
            if p != "_":
                env.vars[p] = a
        try:
            self.exec_block(d.body, env)
        except ReturnSignal as r:
            return r.values
        return []

    def call_method(self, recv, name: str, args: list, line: int) -> list:
        if isinstance(recv, Poison):
            return [recv]
        if isinstance(recv, Replacer) and name == "Replace":
            return [recv.replace(args[0])]
        if isinstance(recv, Builder):
            if name in ("WriteString", "WriteByte", "WriteRune"):
                recv.parts.append(args[0])
                return [len(args[0]), None]
            if name == "String":
                return ["".join(recv.parts)]
            if name == "Len":
                return [sum(len(p) for p in recv.parts)]
        if isinstance(recv, GoRegex):
            if name == "MatchString":
                try:
                    return [re.search(go_regex_to_python(recv.pattern), args[0]) is not None]
                except re.error as e:
                    raise Unsupported(f"line {line}: regex {e}") from None
            if name == "String":
                return [recv.pattern]
        if isinstance(recv, Struct):
            if recv.type == "base64.Encoding" and name == "EncodeToString":
                return [recv.fields["__encode"](args[0])]
            if recv.type.endswith("Allowlist") and name == "ContainsStopWord":
                s = args[0].lower()
                for w in recv.fields.get("StopWords") or []:
                    if w.lower() in s:
                        return [True, w]
                return [False, ""]
            return [Poison(f"method {recv.type}.{name}")]
        raise Unsupported(f"line {line}: method {name} of a {type(recv).__name__}")

    def convert(self, typ, args: list, line: int):
        if len(args) != 1:
            raise Unsupported(f"line {line}: conversion with {len(args)} arguments")
        a = args[0]
        if isinstance(a, Poison):
            return a
        if typ in (("slice", ("tname", "byte")), ("tname", "string")):
            if isinstance(a, str):
                return a
            if isinstance(a, int) and typ == ("tname", "string"):
                return chr(a)
        if typ in (("tname", "int"), ("tname", "float64")) and isinstance(a, (int, float)):
            return int(a) if typ[1] == "int" else float(a)
        raise Unsupported(f"line {line}: conversion to {typ}")

    # -- expressions -----------------------------------------------------
    def eval_list(self, exprs: list, env: Env) -> list:
        """Values of an expression list; one call may stand for all its results."""
        if len(exprs) == 1 and exprs[0][0] == "call":
            return self.eval_call(exprs[0], env)
        return [self.eval(e, env) for e in exprs]

    def eval(self, e, env: Env) -> Any:
        kind = e[0]
        if kind == "lit":
            return e[1]
        if kind == "name":
            return self.eval_name(e[1], env)
        if kind == "binop":
            return self.eval_binop(e, env)
        if kind == "unop":
            x = self.eval(e[2], env)
            if isinstance(x, Poison):
                return x
            op = e[1]
            if op == "!":
                return not x
            if op == "-":
                return -x
            if op == "+":
                return x
            if op in ("&", "*"):
                return x
            raise Unsupported(f"unary {op}")
        if kind == "call":
            vals = self.eval_call(e, env)
            if len(vals) != 1:
                raise Unsupported(f"call with {len(vals)} results used as a value")
            return vals[0]
        if kind == "sel":
            return self.eval_sel(e, env)
        if kind == "index":
            x = self.eval(e[1], env)
            i = self.eval(e[2], env)
            if isinstance(x, Poison):
                return x
            if isinstance(i, Poison):
                return i
            try:
                return x[i]
            except (KeyError, IndexError, TypeError) as err:
                raise Unsupported(f"index: {err}") from None
        if kind == "slice":
            x = self.eval(e[1], env)
            lo = 0 if e[2] is None else self.eval(e[2], env)
            hi = None if e[3] is None else self.eval(e[3], env)
            if isinstance(x, Poison):
                return x
            return x[lo:hi]
        if kind == "complit":
            return self.eval_complit(e[1], e[2], env)
        if kind == "type":
            return ("conv", e[1])
        if kind == "funclit":
            decl = FuncDecl("func literal", e[1], e[2], e[3], 0)
            return Closure(decl, env.lookup("__pkg__")[1], env)
        if kind == "typeassert":
            return self.eval(e[1], env)
        raise Unsupported(f"expression {kind}")

    BUILTIN_TYPES = {"string", "int", "int64", "int32", "uint", "byte", "rune", "float64", "bool"}

    def eval_name(self, name: str, env: Env):
        found, value = env.lookup(name)
        if found is not None:
            return value
        if name in ("true", "false"):
            return name == "true"
        if name == "nil":
            return None
        if name == "append":
            return Builtin("append", None)
        if name in ("len", "make"):
            return Builtin(name, None)
        if name in self.BUILTIN_TYPES:
            return ("conv", ("tname", name))
        pkg: Package = env.lookup("__pkg__")[1]
        imports = env.lookup("__imports__")[1] or {}
        if name in imports:
            return ("import", imports[name])
        return self.pkg_member(pkg, name)

    def eval_sel(self, e, env: Env):
        base = self.eval(e[1], env)
        name = e[2]
        if isinstance(base, tuple) and base and base[0] == "import":
            kind, target = self.import_target(base[1])
            if kind == "pkg":
                return self.pkg_member(target, name)
            if kind == "std":
                if name in target:
                    return target[name]
                return Poison(f"{base[1]}.{name} is not implemented")
            return Poison(f"{target}.{name}")
        if isinstance(base, Poison):
            return base
        if isinstance(base, Struct) and name in base.fields:
            return base.fields[name]
        if isinstance(base, (Struct, Replacer, Builder, GoRegex)):
            return ("method", base, name)
        if base is None:
            return Poison(f"field {name} of nil")
        raise Unsupported(f"selector .{name} on a {type(base).__name__}")

    def eval_binop(self, e, env: Env):
        op = e[1]
        a = self.eval(e[2], env)
        if op in ("&&", "||"):
            if isinstance(a, Poison):
                return a
            if (op == "&&" and not a) or (op == "||" and a):
                return a
            return self.eval(e[3], env)
        bv = self.eval(e[3], env)
        if isinstance(a, Poison):
            return a
        if isinstance(bv, Poison):
            return bv
        try:
            if op == "+":
                return a + bv
            if op == "-":
                return a - bv
            if op == "*":
                return a * bv
            if op == "/":
                return a // bv if isinstance(a, int) and isinstance(bv, int) else a / bv
            if op == "%":
                return a % bv
            if op == "==":
                return a == bv
            if op == "!=":
                return a != bv
            if op == "<":
                return a < bv
            if op == "<=":
                return a <= bv
            if op == ">":
                return a > bv
            if op == ">=":
                return a >= bv
        except TypeError as err:
            raise Unsupported(f"operator {op}: {err}") from None
        raise Unsupported(f"operator {op}")

    def eval_call(self, e, env: Env) -> list:
        _, fe, arg_exprs, ellipsis = e
        f = self.eval(fe, env)
        line = 0
        if isinstance(f, Builtin) and f.fn is None:
            return [self.eval_builtin(f.name, arg_exprs, ellipsis, env)]
        if len(arg_exprs) == 1 and arg_exprs[0][0] == "call":
            args = self.eval_call(arg_exprs[0], env)  # f(g()) with g returning several values
        else:
            args = [self.eval(a, env) for a in arg_exprs]
        if ellipsis:
            if isinstance(args[-1], Poison):
                return [args[-1]]
            args = args[:-1] + list(args[-1] or [])
        return self.call(f, args, line)

    def eval_builtin(self, name: str, arg_exprs: list, ellipsis: bool, env: Env):
        if name == "make":
            t = arg_exprs[0]
            t = t[1] if t[0] == "type" else None
            if t and t[0] == "slice":
                n = self.eval(arg_exprs[1], env) if len(arg_exprs) > 1 else 0
                return [zero_value(t[1]) for _ in range(n)]
            if t and t[0] == "map":
                return {}
            raise Unsupported("make of this type")
        args = [self.eval(a, env) for a in arg_exprs]
        if (p := next((a for a in args if isinstance(a, Poison)), None)) is not None:
            return p
        if name == "len":
            return len(args[0] or [])
        # append
        base = list(args[0] or [])
        if ellipsis:
            rest = args[-1]
            if isinstance(rest, str):
                rest = list(rest)
            return base + args[1:-1] + list(rest or [])
        return base + args[1:]

    def elem_type(self, typ):
        if typ is None:
            return None
        if typ[0] in ("slice", "array"):
            return typ[-1]
        if typ[0] == "map":
            return typ[2]
        return None

    def eval_complit(self, typ, elems: list, env: Env):
        base = typ[1] if typ and typ[0] == "ptr" else typ
        if base is None:
            raise Unsupported("composite literal without a type")

        def value_of(v, vt):
            if v[0] == "complit" and v[1] is None:
                inner = vt[1] if vt and vt[0] == "ptr" else vt
                return self.eval_complit(inner, v[2], env)
            return self.eval(v, env)

        if base[0] in ("slice", "array"):
            et = base[-1]
            out: list = []
            for k, v in elems:
                if k is not None:
                    raise Unsupported("indexed slice literal")
                out.append(value_of(v, et))
            return out
        if base[0] == "map":
            d: dict = {}
            for k, v in elems:
                key = value_of(k, base[1]) if k is not None else None
                if isinstance(key, Poison):
                    return key
                d[key] = value_of(v, base[2])
            return d
        if base[0] == "tname":
            s = Struct(base[1])
            for k, v in elems:
                if k is None or k[0] != "name":
                    s.fields.setdefault("__positional", []).append(self.eval(v, env))
                    continue
                try:
                    s.fields[k[1]] = value_of(v, None)
                except Unsupported as err:
                    s.fields[k[1]] = Poison(str(err))
            return s
        raise Unsupported(f"composite literal of {base}")

    # -- statements ------------------------------------------------------
    def exec_block(self, stmts: list, env: Env) -> None:
        for s in stmts:
            try:
                self.exec(s, env)
            except Unsupported as err:
                if s[1] and not str(err).startswith("line "):
                    raise Unsupported(f"line {s[1]}: {err}") from None
                raise

    def assign(self, target, value, op: str, env: Env) -> None:
        if target[0] == "name":
            name = target[1]
            if name == "_":
                return
            if op == ":=":
                env.vars[name] = value
                return
            found, old = env.lookup(name)
            if found is None:
                pkg = env.lookup("__pkg__")[1]
                if name in pkg.var_specs or name in pkg.values:
                    old = self.pkg_member(pkg, name)
                    if op != "=":
                        value = self.eval_binop(("binop", op[:-1], ("lit", old), ("lit", value)), env)
                    pkg.values[name] = value
                    return
                raise Unsupported(f"assignment to undeclared {name}")
            if op != "=":
                value = self.eval_binop(("binop", op[:-1], ("lit", old), ("lit", value)), env)
            found.vars[name] = value
            return
        if target[0] == "index":
            container = self.eval(target[1], env)
            key = self.eval(target[2], env)
            if isinstance(container, Poison):
                return
            if op != "=":
                value = self.eval_binop(("binop", op[:-1], ("lit", container[key]), ("lit", value)), env)
            container[key] = value
            return
        if target[0] == "sel":
            base = self.eval(target[1], env)
            if isinstance(base, Struct):
                base.fields[target[2]] = value
                return
            if isinstance(base, Poison):
                return
        raise Unsupported(f"assignment to {target[0]}")

    def exec(self, s, env: Env) -> None:
        kind = s[0]
        if kind == "expr":
            e = s[2]
            if e[0] == "call":
                self.eval_call(e, env)
            else:
                self.eval(e, env)
        elif kind == "assign":
            _, _line, lhs, op, rhs = s
            if op in (":=", "=") and len(lhs) > 1 and len(rhs) == 1:
                vals = self.eval_list(rhs, env)
                if len(vals) != len(lhs):
                    if len(vals) == 1 and isinstance(vals[0], Poison):
                        vals = vals * len(lhs)
                    else:
                        raise Unsupported(f"{len(lhs)} names for {len(vals)} values")
            else:
                if len(lhs) != len(rhs):
                    raise Unsupported("assignment count mismatch")
                vals = [self.eval(e, env) for e in rhs]
            for t, v in zip(lhs, vals):
                self.assign(t, v, op, env)
        elif kind == "var":
            for names, typ, exprs, _line in s[2]:
                if exprs:
                    vals = self.eval_list(exprs, env)
                    if len(vals) != len(names):
                        raise Unsupported("var count mismatch")
                else:
                    vals = [zero_value(typ) for _ in names]
                for n, v in zip(names, vals):
                    if n != "_":
                        env.vars[n] = v
        elif kind == "return":
            raise ReturnSignal(self.eval_list(s[2], env) if s[2] else [])
        elif kind == "break":
            raise BreakSignal()
        elif kind == "continue":
            raise ContinueSignal()
        elif kind == "block":
            self.exec_block(s[2], Env(env))
        elif kind == "empty":
            pass
        elif kind == "unsupported":
            raise Unsupported(s[2])
        elif kind == "if":
            _, _line, init, cond, body, orelse = s
            scope = Env(env)
            if init is not None:
                self.exec(init, scope)
            c = self.eval(cond, scope)
            if isinstance(c, Poison):
                raise Unsupported(f"if condition not computable: {c.reason}")
            if c:
                self.exec_block(body, Env(scope))
            elif orelse is not None:
                self.exec_block(orelse, Env(scope))
        elif kind == "forrange":
            self.exec_range(s, env)
        elif kind == "for":
            self.exec_for(s, env)
        else:
            raise Unsupported(f"statement {kind}")

    def exec_range(self, s, env: Env) -> None:
        _, _line, lhs, op, xe, body = s
        x = self.eval(xe, env)
        if isinstance(x, Poison):
            raise Unsupported(f"range over an unknown value: {x.reason}")
        if isinstance(x, dict):
            items = list(x.items())
        elif isinstance(x, (list, str)):
            items = list(enumerate(x))
        elif isinstance(x, int):
            items = [(i, i) for i in range(x)]
        elif x is None:
            items = []
        else:
            raise Unsupported(f"range over a {type(x).__name__}")
        for k, v in items:
            scope = Env(env)
            if lhs:
                self.assign(lhs[0], k, op if op == ":=" else "=", scope if op == ":=" else env)
            if len(lhs) > 1:
                self.assign(lhs[1], v, op if op == ":=" else "=", scope if op == ":=" else env)
            try:
                self.exec_block(body, Env(scope))
            except BreakSignal:
                break
            except ContinueSignal:
                continue

    def exec_for(self, s, env: Env) -> None:
        _, _line, init, cond, post, body = s
        scope = Env(env)
        if init is not None:
            self.exec(init, scope)
        for _ in range(MAX_LOOP):
            if cond is not None:
                c = self.eval(cond, scope)
                if isinstance(c, Poison):
                    raise Unsupported(f"for condition not computable: {c.reason}")
                if not c:
                    return
            try:
                self.exec_block(body, Env(scope))
            except BreakSignal:
                return
            except ContinueSignal:
                pass
            if post is not None:
                self.exec(post, scope)
        raise Unsupported(f"loop ran {MAX_LOOP} times")


# --------------------------------------------------------------------------
# Loading gitleaks' sources
# --------------------------------------------------------------------------


def git(src: Path, *args: str) -> str:
    r = subprocess.run(["git", "-C", str(src), *args], capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {r.stderr.strip() or 'failed'}")
    return r.stdout


def list_go_files(src: Path, rev: str, folder: str) -> list[str]:
    out = git(src, "ls-tree", "--name-only", f"{rev}:{folder}")
    return [f"{folder}/{n}" for n in out.split() if n.endswith(".go") and not n.endswith("_test.go")]


def build_package(name: str, files: dict[str, str]) -> tuple[Package, dict[str, str]]:
    """A Package from Go sources; returns it and the parse errors by file."""
    pkg = Package(name)
    errors: dict[str, str] = {}
    for fname, text in files.items():
        try:
            gf = parse_go(text, fname)
        except Unsupported as e:
            errors[fname] = str(e)
            continue
        for fn, decl in gf.funcs.items():
            pkg.funcs[fn] = decl
            pkg.imports[fn] = gf.imports
        for spec in gf.vars:
            for i, n in enumerate(spec[0]):
                pkg.var_specs[n] = (spec, i)
                pkg.file_of_var[n] = gf.imports
    return pkg, errors


def registered_rule_funcs(main_src: str) -> list[str]:
    """The rule constructors main.go lists, in order (``rules.Foo(),``)."""
    return re.findall(r"\brules\.([A-Za-z_][A-Za-z0-9_]*)\(\)", main_src)


@dataclass
class Case:
    rule: str
    kind: str  # tp / fp
    n: int
    text: str
    path: str = "case.txt"  # inside the case folder

    @property
    def folder(self) -> str:
        return f"{self.rule}/{self.kind}-{self.n}"


@dataclass
class Extraction:
    cases: list[Case]
    not_extracted: list[dict]  # {"function", "rule", "reason"}
    commit: str
    rule_funcs: int
    regexes: list[str]
    no_cases: list[dict] = field(default_factory=list)  # {"function", "rule"}


def safe_rel_path(p: str) -> str | None:
    parts = [x for x in Path(p).parts if x not in ("", "/", ".")]
    if not parts or any(x == ".." for x in parts):
        return None
    return "/".join(parts)


def extract_cases(src: Path, seed: int = DEFAULT_SEED, pattern: str | None = None, rev: str = "HEAD") -> Extraction:
    """Every registered rule's cases from a gitleaks snapshot (read with git)."""
    commit = git(src, "rev-parse", rev).strip()
    rules_files = {f: git(src, "show", f"{commit}:{f}") for f in list_go_files(src, commit, RULES_DIR)}
    utils_files = {f: git(src, "show", f"{commit}:{f}") for f in list_go_files(src, commit, UTILS_DIR)}
    funcs = registered_rule_funcs(git(src, "show", f"{commit}:{MAIN_GO}"))
    ext = evaluate_rules(rules_files, utils_files, funcs, seed, pattern)
    ext.commit = commit
    return ext


def evaluate_rules(
    rules_files: dict[str, str],
    utils_files: dict[str, str],
    funcs: list[str],
    seed: int = DEFAULT_SEED,
    pattern: str | None = None,
) -> Extraction:
    """Run each rule constructor in ``funcs`` (package ``rules``, with
    ``utils`` interpreted from ``utils_files``) and collect what it passes to
    ``utils.Validate``/``ValidateWithPaths``.  Each function draws its random
    secrets from its own generator, seeded from ``seed`` and its name, so a
    rule's cases do not depend on which other rules are evaluated."""
    rules_pkg, rule_errors = build_package("rules", rules_files)
    utils_pkg, util_errors = build_package("utils", utils_files)
    cases: list[Case] = []
    skipped: list[dict] = []
    no_cases: list[dict] = []  # rules gitleaks itself gives no cases (no Validate call)
    regexes: list[str] = []
    for err_file, err in {**rule_errors, **util_errors}.items():
        skipped.append({"function": None, "rule": None, "file": err_file, "reason": f"parse error: {err}"})
    seen_ids: set[str] = set()
    for fn in funcs:
        if fn not in rules_pkg.funcs:
            skipped.append({"function": fn, "rule": None, "reason": "function not found (its file did not parse)"})
            continue
        rng = random.Random(f"{seed}:{fn}")
        interp = Interpreter({"rules": rules_pkg, "utils": utils_pkg}, rng)
        # package vars are cached per package: re-evaluate them with this rule's generator
        rules_pkg.values.clear()
        utils_pkg.values.clear()
        rule_id = None
        try:
            result = interp.call(Closure(rules_pkg.funcs[fn], rules_pkg), [], 0)
            rule_id = rule_id_of(result[0] if result else None) or rule_id_of_records(interp.records)
            if not interp.records:
                if not (pattern and rule_id and not fnmatch.fnmatchcase(rule_id, pattern)):
                    no_cases.append({"function": fn, "rule": rule_id})
                continue
            if len(interp.records) > 1:
                raise Unsupported(f"{len(interp.records)} Validate calls")
            _rule, tps, fps, with_paths = interp.records[0]
            rule_id = rule_id or rule_id_of(_rule)
            if not rule_id:
                raise Unsupported("rule id not computable")
            if pattern and not fnmatch.fnmatchcase(rule_id, pattern):
                continue
            for label, value in (("tps", tps), ("fps", fps)):
                if (p := first_poison(value)) is not None:
                    raise Unsupported(f"{label}: {p.reason}")
            if rule_id in seen_ids:
                raise Unsupported("rule id already used by another function")
            new: list[Case] = []
            for kind, value in (("tp", tps), ("fp", fps)):
                if with_paths:
                    if not isinstance(value, dict):
                        raise Unsupported(f"ValidateWithPaths {kind}s are not a map")
                    items = list(value.items())
                else:
                    if not isinstance(value, list) and value is not None:
                        raise Unsupported(f"Validate {kind}s are not a slice")
                    items = [(None, v) for v in value or []]
                for i, (path, text) in enumerate(items, 1):
                    if not isinstance(text, str):
                        raise Unsupported(f"{kind} case {i} is a {type(text).__name__}")
                    rel = "case.txt" if path is None else safe_rel_path(path)
                    if rel is None:
                        raise Unsupported(f"{kind} case {i}: path {path!r} is not relative")
                    new.append(Case(rule_id, kind, i, text, rel))
            seen_ids.add(rule_id)
            cases.extend(new)
            regexes.extend(interp.new_secret.regexes)
        except Unsupported as e:
            if pattern and rule_id and not fnmatch.fnmatchcase(rule_id, pattern):
                continue
            skipped.append({"function": fn, "rule": rule_id, "reason": str(e)})
        except RecursionError:
            skipped.append({"function": fn, "rule": rule_id, "reason": "recursion too deep"})
    return Extraction(cases, skipped, "", len(funcs), regexes, no_cases)


def rule_id_of(r) -> str | None:
    if isinstance(r, Struct) and isinstance(r.fields.get("RuleID"), str):
        return r.fields["RuleID"]
    return None


def rule_id_of_records(records: list) -> str | None:
    for rec in records:
        if (rid := rule_id_of(rec[0])) is not None:
            return rid
    return None


# --------------------------------------------------------------------------
# Writing the cases and running the tools
# --------------------------------------------------------------------------


def write_cases(cases: list[Case], out: Path) -> None:
    for c in cases:
        p = out / c.folder / c.path
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(c.text.encode("utf-8", "surrogateescape"))


NATIVE_RESOLVERS = {"gitleaks": ("gitleaks", "get_binary_path"), "kingfisher": ("kingfisher", "get_binary_path")}


def find_exe(name: str) -> str | None:
    beside = Path(sys.executable).parent / name
    return shutil.which(name) or (str(beside) if beside.exists() else None)


def native_exe(name: str) -> str | None:
    """The scanner's own binary when a pip wrapper script fronts it."""
    exe = find_exe(name)
    if exe:
        with open(exe, "rb") as f:
            if f.read(2) != b"#!":
                return exe
    module, func = NATIVE_RESOLVERS[name]
    try:
        return str(getattr(importlib.import_module(module), func)())
    except (ImportError, AttributeError, OSError, RuntimeError):
        return exe


def tool_command(name: str, out: Path, report: Path) -> list[str] | None:
    if name == "trussguard":
        exe = find_exe("trussguard")
        base = [exe] if exe else ([sys.executable, "-m", "trussguard"] if importlib.util.find_spec("trussguard") else None)
        if base is None:
            return None
        return [*base, "scan", str(out), "--no-cache", "--format", "json", "-o", str(report)]
    exe = native_exe(name)
    if exe is None:
        return None
    if name == "gitleaks":
        return [exe, "dir", str(out), "--no-banner", "--report-format", "json", "--report-path", str(report)]
    if name == "kingfisher":
        # --no-dedup: the same secret sits in ~26 case folders; each is a case of its own
        return [exe, "scan", str(out), "--format", "json", "-o", str(report), "--no-validate",
                "--no-dedup", "--no-update-check", "--git-history", "none"]
    raise ValueError(name)


def finding_paths(name: str, report: Path) -> list[str]:
    data = json.loads(report.read_text() or "null")
    if name == "trussguard":
        return [f["path"] for f in data["findings"]]
    if name == "gitleaks":
        return [f["File"] for f in data or []]
    if name == "kingfisher":
        return [item["finding"]["path"] for item in (data or {}).get("findings", [])]
    raise ValueError(name)


def case_folder(path: str, out: Path) -> str | None:
    """``<rule>/<tp-n>`` for a reported path, absolute or relative to OUT."""
    p = Path(path)
    if not p.is_absolute():
        p = out / p
    try:
        rel = Path(os.path.relpath(os.path.realpath(p), os.path.realpath(out)))
    except ValueError:
        return None
    parts = rel.parts
    if len(parts) < 3 or parts[0] == "..":
        return None
    return f"{parts[0]}/{parts[1]}"


@dataclass
class ToolRun:
    name: str
    folders: set[str] | None  # None: not run
    note: str = ""
    seconds: float = 0.0


def run_tool(name: str, out: Path, workdir: Path) -> ToolRun:
    report = workdir / f"{name}.json"
    cmd = tool_command(name, out, report)
    if cmd is None:
        return ToolRun(name, None, "not installed")
    t0 = time.monotonic()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=3600, cwd=workdir)
    except (OSError, subprocess.TimeoutExpired) as e:
        return ToolRun(name, None, f"did not run: {e}")
    secs = time.monotonic() - t0
    if r.returncode not in (0, 1) and not (name == "kingfisher" and r.returncode in (200, 205)):
        return ToolRun(name, None, f"exit {r.returncode}: {(r.stderr or r.stdout).strip().splitlines()[-1:] }", secs)
    if not report.exists():
        return ToolRun(name, None, f"exit {r.returncode} and no report", secs)
    try:
        paths = finding_paths(name, report)
    except (ValueError, KeyError, TypeError) as e:
        return ToolRun(name, None, f"unreadable report: {e}", secs)
    folders = {f for p in paths if (f := case_folder(p, out)) is not None}
    return ToolRun(name, folders, f"exit {r.returncode}", secs)


# --------------------------------------------------------------------------
# Scoring and reporting
# --------------------------------------------------------------------------


def redact(text: str) -> str:
    """The first 12 characters and the length; never the whole case (a short
    case keeps half of itself at most)."""
    head = text[: min(REDACT_KEEP, len(text) // 2)].encode("unicode_escape").decode("ascii")
    return f"{head}... ({len(text)} chars)"


def score(cases: list[Case], folders: set[str]) -> dict:
    per_rule: dict[str, dict] = {}
    for c in cases:
        r = per_rule.setdefault(c.rule, {"tp": 0, "tp_missed": 0, "fp": 0, "fp_fired": 0, "missed": [], "fired": []})
        hit = c.folder in folders
        if c.kind == "tp":
            r["tp"] += 1
            if not hit:
                r["tp_missed"] += 1
                r["missed"].append({"case": c.folder, "text": redact(c.text)})
        else:
            r["fp"] += 1
            if hit:
                r["fp_fired"] += 1
                r["fired"].append({"case": c.folder, "text": redact(c.text)})
    tp = sum(r["tp"] for r in per_rule.values())
    fp = sum(r["fp"] for r in per_rule.values())
    found = tp - sum(r["tp_missed"] for r in per_rule.values())
    fired = sum(r["fp_fired"] for r in per_rule.values())
    return {
        "tp_total": tp,
        "tp_found": found,
        "recall": found / tp if tp else None,
        "fp_total": fp,
        "fp_fired": fired,
        "fp_rate": fired / fp if fp else None,
        "rules_with_miss": sum(1 for r in per_rule.values() if r["tp_missed"]),
        "rules": len(per_rule),
        "per_rule": per_rule,
    }


def add_cross_rule_fp(cases: list[Case], runs: list[ToolRun], scores: dict[str, dict]) -> None:
    """A false case of one gitleaks rule can be a true case of another (the
    cloudflare rules list each other's keys as false cases), so any scanner
    with the whole rule set fires on it.  When gitleaks ran, each tool also
    gets its FP rate on the false cases gitleaks' full rule set leaves alone."""
    gl = next((r for r in runs if r.name == "gitleaks" and r.folders is not None), None)
    if gl is None:
        return
    clean = [c for c in cases if c.kind == "fp" and c.folder not in gl.folders]
    for run in runs:
        if run.folders is None:
            continue
        fired = sum(1 for c in clean if c.folder in run.folders)
        scores[run.name]["fp_clean_total"] = len(clean)
        scores[run.name]["fp_clean_fired"] = fired
        scores[run.name]["fp_clean_rate"] = fired / len(clean) if clean else None


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def print_report(ext: Extraction, runs: list[ToolRun], scores: dict[str, dict], args) -> None:
    n_tp = sum(1 for c in ext.cases if c.kind == "tp")
    n_fp = len(ext.cases) - n_tp
    n_rules = len({c.rule for c in ext.cases})
    print(f"gitleaks {ext.commit[:12]}: {ext.rule_funcs} registered rules, {n_rules} extracted "
          f"({n_tp} true cases, {n_fp} false cases), {len(ext.not_extracted)} not extracted, "
          f"{len(ext.no_cases)} without cases in gitleaks; seed {args.seed}")
    if ext.no_cases:
        print("without cases in gitleaks (no utils.Validate call): "
              + ", ".join(s["rule"] or s["function"] for s in ext.no_cases))
    if ext.not_extracted:
        print("\nnot extracted:")
        for s in ext.not_extracted:
            who = s.get("rule") or s.get("function") or s.get("file")
            print(f"  {who}: {s['reason']}")
    print()
    print(f"{'tool':<12} {'true found':>17} {'recall':>7} {'false fired':>15} {'FP rate':>8} "
          f"{'FP rate*':>15} {'rules w/ miss':>14} {'time':>7}")
    for run in runs:
        if run.folders is None:
            print(f"{run.name:<12} skipped: {run.note}")
            continue
        s = scores[run.name]
        clean = (f"{s['fp_clean_fired']}/{s['fp_clean_total']} {pct(s['fp_clean_rate'])}"
                 if "fp_clean_total" in s else "n/a")
        print(f"{run.name:<12} {s['tp_found']:>8}/{s['tp_total']:<8} {pct(s['recall']):>7} "
              f"{s['fp_fired']:>6}/{s['fp_total']:<8} {pct(s['fp_rate']):>8} {clean:>15} "
              f"{s['rules_with_miss']:>6}/{s['rules']:<7} {run.seconds:>6.1f}s")
    if any("fp_clean_total" in s for s in scores.values()):
        print("* FP rate on the false cases that gitleaks' own full rule set does not fire on "
              "(a false case of one rule can be another rule's true case)")
    tg = scores.get("trussguard")
    if tg is None:
        return
    rows = [(rid, r) for rid, r in sorted(tg["per_rule"].items()) if r["tp_missed"] or r["fp_fired"]]
    print(f"\ntrussguard per-rule misses ({len(rows)} rules with a missed true case or a fired false case):")
    print(f"  {'gitleaks rule':<44} {'missed tp':>10} {'fired fp':>9}")
    for rid, r in rows:
        print(f"  {rid:<44} {r['tp_missed']:>4}/{r['tp']:<5} {r['fp_fired']:>3}/{r['fp']:<5}")
        if args.show_cases:
            for m in r["missed"]:
                print(f"      missed {m['case']}: {m['text']}")
            for m in r["fired"]:
                print(f"      fired  {m['case']}: {m['text']}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gitleaks-src", default=DEFAULT_SRC, help="gitleaks git snapshot (bare or not)")
    ap.add_argument("--rev", default="HEAD", help="revision of the snapshot to read")
    ap.add_argument("--out", help="folder for the case files (default: a temp dir, removed afterwards)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir and the reports")
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--rules", help="only gitleaks rule ids matching this glob")
    ap.add_argument("--json", help="write every number, and the redacted misses, to this file")
    ap.add_argument("--no-case-lines", dest="show_cases", action="store_false",
                    help="per-rule table without the redacted missed cases")
    args = ap.parse_args(argv)

    src = Path(args.gitleaks_src)
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    if bad := [t for t in tools if t not in TOOLS]:
        print(f"gitleaks_cases: unknown tool(s) {', '.join(bad)} (known: {', '.join(TOOLS)})", file=sys.stderr)
        return 2
    if not src.exists():
        print(f"gitleaks_cases: no gitleaks snapshot at {src}", file=sys.stderr)
        return 2
    try:
        ext = extract_cases(src, args.seed, args.rules, args.rev)
    except RuntimeError as e:
        print(f"gitleaks_cases: {e}", file=sys.stderr)
        return 2
    if not ext.cases:
        print("gitleaks_cases: no case extracted" + (f" for rules {args.rules!r}" if args.rules else ""), file=sys.stderr)
        return 2

    own_tmp = args.out is None
    out_root = Path(tempfile.mkdtemp(prefix="gitleaks-cases-")) if own_tmp else Path(args.out)
    out = out_root / "cases" if own_tmp else out_root
    workdir = out_root if own_tmp else Path(tempfile.mkdtemp(prefix="gitleaks-cases-reports-"))
    if not own_tmp and out.exists() and any(out.iterdir()):
        print(f"gitleaks_cases: {out} is not empty", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    if not own_tmp:
        print(f"case files (credential-shaped: keep them out of git) in {out}", file=sys.stderr)
    try:
        write_cases(ext.cases, out)
        runs = [run_tool(t, out, workdir) for t in tools]
        scores = {r.name: score(ext.cases, r.folders) for r in runs if r.folders is not None}
        add_cross_rule_fp(ext.cases, runs, scores)
        print_report(ext, runs, scores, args)
        if args.json:
            payload = {
                "gitleaks_commit": ext.commit,
                "seed": args.seed,
                "rules_filter": args.rules,
                "registered_rules": ext.rule_funcs,
                "extracted_rules": len({c.rule for c in ext.cases}),
                "true_cases": sum(1 for c in ext.cases if c.kind == "tp"),
                "false_cases": sum(1 for c in ext.cases if c.kind == "fp"),
                "not_extracted": ext.not_extracted,
                "without_cases": ext.no_cases,
                "tools": {
                    r.name: ({"skipped": r.note} if r.folders is None else
                             {"seconds": round(r.seconds, 2), **scores[r.name]})
                    for r in runs
                },
            }
            Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
    finally:
        if own_tmp and not args.keep:
            shutil.rmtree(out_root, ignore_errors=True)
        elif not own_tmp and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    if own_tmp and args.keep:
        print(f"\ncases and reports kept in {out_root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
