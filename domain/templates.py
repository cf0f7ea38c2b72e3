"""Starter templates: the files a new workspace begins with. Data, not code paths."""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.errors import InvalidInput
from domain.values import Language


@dataclass(frozen=True, slots=True)
class Template:
    name: str
    language: Language
    title: str
    files: dict[str, str] = field(default_factory=dict)


_PYTHON_MAIN = 'def main() -> None:\n    print("Hello from Codeloft!")\n\n\nif __name__ == "__main__":\n    main()\n'
_NODE_MAIN = 'console.log("Hello from Codeloft!");\n'
_CPP_HEADER = "#pragma once\n#include <string>\n\nstd::string greeting();\n"
_CPP_SOURCE = '#include "greeting.hpp"\n\nstd::string greeting() { return "Hello from Codeloft!"; }\n'
_CPP_MAIN = (
    '#include <iostream>\n#include "greeting.hpp"\n\n'
    "int main() {\n    std::cout << greeting() << std::endl;\n    return 0;\n}\n"
)
_JAVA_MAIN = (
    "package app;\n\npublic class Main {\n    public static void main(String[] args) {\n"
    '        System.out.println("Hello from Codeloft!");\n    }\n}\n'
)

TEMPLATES: tuple[Template, ...] = (
    Template(name="blank", language=Language.PYTHON, title="Blank"),
    Template(name="python", language=Language.PYTHON, title="Python script", files={"main.py": _PYTHON_MAIN}),
    Template(name="blank", language=Language.JAVASCRIPT, title="Blank"),
    Template(name="javascript", language=Language.JAVASCRIPT, title="Node.js script", files={"index.js": _NODE_MAIN}),
    Template(name="blank", language=Language.CPP, title="Blank"),
    Template(
        name="cpp",
        language=Language.CPP,
        title="C++ program",
        files={"main.cpp": _CPP_MAIN, "greeting.hpp": _CPP_HEADER, "greeting.cpp": _CPP_SOURCE},
    ),
    Template(name="blank", language=Language.JAVA, title="Blank"),
    Template(name="java", language=Language.JAVA, title="Java program", files={"src/app/Main.java": _JAVA_MAIN}),
)


def templates_for(language: Language) -> list[Template]:
    return [template for template in TEMPLATES if template.language is language]


def find_template(language: Language, name: str) -> Template:
    for template in templates_for(language):
        if template.name == name:
            return template
    allowed = ", ".join(t.name for t in templates_for(language))
    raise InvalidInput(f"Unknown template {name!r} for {language.value}: choose one of {allowed}.")
