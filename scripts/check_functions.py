#!/usr/bin/env python3
"""scripts/check_functions.py [--max N] DIR...: lists C functions longer than N lines
(default 120), counted from the line of the opening brace's declaration to the closing brace.
A brace matcher over the text with strings, character literals and comments removed: a '{'
at file level right after a ')' opens a function body.
Exit status 1 when any function is too long (make test runs it over src/)."""
import os, re, sys

def strip(text):
    """Removes comments, strings and character literals (keeping newlines)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2); j = n if j < 0 else j + 2
            out.append("\n" * text.count("\n", i, j)); i = j
        elif text.startswith("//", i):
            j = text.find("\n", i); j = n if j < 0 else j
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + c); i = j + 1
        else:
            out.append(c); i += 1
    return "".join(out)

def functions(path):
    """(name, first line, last line) of every function definition in path."""
    text = strip(open(path, encoding="utf-8", errors="replace").read())
    depth, i, n = 0, 0, len(text)
    while i < n:
        c = text[i]
        if c == "{":
            if depth == 0:
                head = text[:i].rstrip()
                if head.endswith(")"):          # a function body, not a struct or an initializer
                    k, level = len(head) - 1, 0
                    while k >= 0:
                        level += head[k] == ")"
                        level -= head[k] == "("
                        if level == 0:
                            break
                        k -= 1
                    m = re.search(r"([A-Za-z_]\w*)\s*$", head[:k])
                    if m and m.group(1) not in ("if", "for", "while", "switch"):
                        start_line = head.count("\n", 0, head.rfind("\n", 0, m.start()) + 1) + 1
                        j, d = i, 0
                        while j < n:
                            d += text[j] == "{"
                            d -= text[j] == "}"
                            if d == 0:
                                break
                            j += 1
                        yield m.group(1), start_line, text.count("\n", 0, j) + 1
                        i = j + 1
                        continue
            depth += 1
        elif c == "}":
            depth -= 1
        i += 1

def main():
    args = sys.argv[1:]
    limit = 120
    if args[:1] == ["--max"]:
        limit, args = int(args[1]), args[2:]
    bad = 0
    for root in args:
        for d, _, fs in os.walk(root):
            for f in sorted(fs):
                if not f.endswith(".c"):
                    continue
                p = os.path.join(d, f)
                for name, a, b in functions(p):
                    if b - a + 1 > limit:
                        print(f"{p}:{a}: {name} is {b - a + 1} lines (limit {limit})")
                        bad += 1
    if bad:
        print(f"{bad} function(s) over {limit} lines")
    return 1 if bad else 0

if __name__ == "__main__":
    sys.exit(main())
