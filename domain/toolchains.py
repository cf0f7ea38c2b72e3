"""Languages as data: file extensions, how to compile, how to run. Later extensions add entries."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from domain.access import Actor
from domain.errors import InvalidInput
from domain.extension_contributions import NONE, Contributions, LanguageContribution
from domain.values import Language

BUILD_DIR = ".build"


@dataclass(frozen=True, slots=True)
class Toolchain:
    language: Language
    extensions: tuple[str, ...]
    run: tuple[str, ...]
    compile: tuple[str, ...] | None = None
    version: tuple[str, ...] = ()
    """Placeholders: {main} the file to run, {sources} every source file of the language (one argument
    each), {main_class} the Java class, {heap_mb} three quarters of the memory limit."""
    main: str | None = None
    """For a language whose program is all its sources: how a source defining the program's entry
    function looks (a regular expression), so Run on any of its files runs the program."""

    def handles(self, path: str) -> bool:
        return path.rsplit("/", 1)[-1].lower().endswith(self.extensions)


TOOLCHAINS: tuple[Toolchain, ...] = (
    Toolchain(
        language=Language.PYTHON,
        extensions=(".py",),
        run=("python3", "-u", "{main}"),
        version=("python3", "--version"),
    ),
    Toolchain(
        language=Language.JAVASCRIPT,
        extensions=(".js", ".mjs", ".cjs"),
        run=("node", "--max-old-space-size={heap_mb}", "{main}"),
        version=("node", "--version"),
    ),
    Toolchain(
        language=Language.CPP,
        extensions=(".cpp", ".cc", ".cxx"),
        compile=("g++", "-O2", "-std=c++20", "-pipe", "-o", f"{BUILD_DIR}/main", "{sources}"),
        run=(f"./{BUILD_DIR}/main",),
        version=("g++", "--version"),
        main=r"^\s*(?:int|auto|signed)\s+main\s*\(",
    ),
    Toolchain(
        language=Language.JAVA,
        extensions=(".java",),
        compile=("javac", "-J-Xshare:auto", "-encoding", "UTF-8", "-d", BUILD_DIR, "{sources}"),
        run=("java", "-Xmx{heap_mb}m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", BUILD_DIR, "{main_class}"),
        version=("javac", "-version"),
        main=r"\bvoid\s+main\s*\(",
    ),
)


ContributionsOf = Callable[[Actor], Awaitable[Contributions]]
"""What a person's enabled extensions contribute (ExtensionService.contributions), injected where runs
need it so the run service does not depend on the marketplace."""

FILE_PLACEHOLDER = "{file}"


@dataclass(frozen=True, slots=True)
class ScriptToolchain:
    """A language an installed extension contributes with a `run` command line (e.g. bash for .sh):
    interpreted, no compile step, run in the same sandbox with the same limits as any program."""

    language: str
    """The contribution's id ("shell"): what the run records as its language."""
    label: str
    extension: str
    extensions: tuple[str, ...]
    run: tuple[str, ...]
    compile: None = None
    version: tuple[str, ...] = ()
    main: None = None

    @classmethod
    def of(cls, contribution: LanguageContribution) -> ScriptToolchain | None:
        if not contribution.run:
            return None
        return cls(
            language=contribution.id,
            label=contribution.label,
            extension=contribution.extension,
            extensions=tuple(e.lower() for e in contribution.extensions),
            run=contribution.run,
        )

    @property
    def program(self) -> str:
        return self.run[0]

    def handles(self, path: str) -> bool:
        return path.rsplit("/", 1)[-1].lower().endswith(self.extensions)

    def argv(self, main: str) -> list[str]:
        """The command line with `{file}` replaced by the file's path (as `./path`, so a name starting
        with a dash is never read as an option); nothing else in it is interpreted."""
        return [part.replace(FILE_PLACEHOLDER, f"./{main}") for part in self.run]


AnyToolchain = Toolchain | ScriptToolchain


def contributed_toolchain(path: str, contributions: Contributions) -> ScriptToolchain | None:
    """The toolchain of a file no built-in toolchain runs but a contributed language with `run` does."""
    if any(toolchain.handles(path) for toolchain in TOOLCHAINS):
        return None
    for language in reversed(contributions.languages):  # the last installed wins, as for highlighting
        if language.run and language.handles(path):
            return ScriptToolchain.of(language)
    return None


def can_run(path: str, contributions: Contributions = NONE) -> bool:
    """Whether Codeloft knows how to run this file (by its name), with the person's extensions' languages."""
    return any(toolchain.handles(path) for toolchain in TOOLCHAINS) or (
        contributed_toolchain(path, contributions) is not None
    )


def runnable_toolchain(path: str, contributions: Contributions = NONE) -> AnyToolchain:
    """The built-in toolchain of the file, else the contributed language's, else InvalidInput naming
    what can run."""
    contributed = contributed_toolchain(path, contributions)
    if contributed is not None:
        return contributed
    try:
        return toolchain_for(path)
    except InvalidInput:
        extra = [e for language in contributions.languages if language.run for e in language.extensions]
        if not extra:
            raise
        known = ", ".join([*(ext for t in TOOLCHAINS for ext in t.extensions), *extra])
        raise InvalidInput(f"Codeloft does not know how to run {path}: it runs files ending in {known}.") from None


def toolchain_for(path: str, *, language: str | None = None) -> Toolchain:
    if language is not None:
        for toolchain in TOOLCHAINS:
            if toolchain.language.value == language:
                return toolchain
        known = ", ".join(t.language.value for t in TOOLCHAINS)
        raise InvalidInput(f"Codeloft cannot run {language!r}: choose one of {known}.")
    for toolchain in TOOLCHAINS:
        if toolchain.handles(path):
            return toolchain
    known = ", ".join(ext for t in TOOLCHAINS for ext in t.extensions)
    raise InvalidInput(f"Codeloft does not know how to run {path}: it runs files ending in {known}.")


def program_main(toolchain: AnyToolchain, files: Mapping[str, bytes], path: str) -> str:
    """The file whose program runs when `path` is asked for: `path` itself if it defines the entry
    function (or the language has none: a script is a program), else the one source of its language
    that does (C++ builds every source into one program; Java runs the class with main)."""
    if toolchain.main is None:
        return path
    pattern = re.compile(toolchain.main, re.MULTILINE)

    def defines_main(source: str) -> bool:
        return pattern.search(files[source].decode("utf-8", errors="replace")) is not None

    if defines_main(path):
        return path
    found = [source for source in sorted(files) if toolchain.handles(source) and defines_main(source)]
    return found[0] if len(found) == 1 else path


_PACKAGE = re.compile(r"^\s*package\s+([\w.]+)\s*;", re.MULTILINE)


def java_main_class(path: str, source: str) -> str:
    name = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    match = _PACKAGE.search(source)
    return f"{match.group(1)}.{name}" if match else name


def expand(
    template: tuple[str, ...],
    *,
    main: str,
    sources: list[str],
    main_source: str = "",
    heap_mb: int = 192,
) -> list[str]:
    """The command line for one step, with the placeholders filled in."""
    argv: list[str] = []
    values: Mapping[str, str] = {
        "main": f"./{main}",  # "./" keeps a file named like "-v.py" from reading as an option
        "heap_mb": str(heap_mb),
        "main_class": java_main_class(main, main_source) if main.endswith(".java") else main,
    }
    for part in template:
        if part == "{sources}":
            argv.extend(f"./{source}" for source in sources)
        else:
            argv.append(part.format(**values))
    return argv
