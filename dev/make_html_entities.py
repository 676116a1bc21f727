"""Write src/encoders/html_entities.rs: the tables Python's html.unescape uses.

open_clip cleans prompts with html.unescape (twice), so the Rust port needs the
same HTML5 named character references (html.entities.html5, including the
legacy names that match without a semicolon) and the numeric-reference fix-ups
(html._invalid_charrefs, html._invalid_codepoints). Rerun from the repository
root with the Python whose behaviour should be matched:

    python3 dev/make_html_entities.py
"""

import html
import html.entities
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "src" / "encoders" / "html_entities.rs"


def rust_string(value: str) -> str:
    return '"' + "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else f"\\u{{{ord(c):x}}}" for c in value) + '"'


def main() -> None:
    named = sorted(html.entities.html5.items())
    charrefs = sorted(html._invalid_charrefs.items())
    codepoints = sorted(html._invalid_codepoints)
    lines = [
        f"//! Tables of Python {sys.version.split()[0]}'s `html.unescape`, written by dev/make_html_entities.py.",
        "//! Do not edit by hand.",
        "",
        "/// `html.entities.html5`: reference name (with its `;` where the name needs one) and text,",
        "/// sorted by name for binary search.",
        "pub const NAMED: &[(&str, &str)] = &[",
    ]
    lines += [f"    ({rust_string(name)}, {rust_string(text)})," for name, text in named]
    lines += [
        "];",
        "",
        "/// `html._invalid_charrefs`: numeric references replaced with another character.",
        "pub const INVALID_CHARREFS: &[(u32, char)] = &[",
    ]
    lines += [f"    (0x{number:x}, '\\u{{{ord(text):x}}}')," for number, text in charrefs]
    lines += [
        "];",
        "",
        "/// `html._invalid_codepoints`: numeric references that decode to nothing, sorted.",
        "pub const INVALID_CODEPOINTS: &[u32] = &[",
    ]
    lines += ["    " + ", ".join(f"0x{c:x}" for c in codepoints[i:i + 12]) + "," for i in range(0, len(codepoints), 12)]
    lines += ["];", ""]
    OUT.write_text("\n".join(lines))
    print(f"wrote {OUT}: {len(named)} names, {len(charrefs)} charrefs, {len(codepoints)} invalid code points")


if __name__ == "__main__":
    main()
