"""Choose the sandbox from settings: the best this machine has, never `local` for many users."""

from __future__ import annotations

from domain.errors import InvalidInput, Unavailable
from domain.sandbox import RunLimits, Runner
from runners.bubblewrap import BubblewrapRunner
from runners.local import LocalRunner


def choose_runner(
    setting: str,
    *,
    multi_user: bool,
    docker_url: str | None = None,
    docker_images: dict[str, str] | None = None,
    limits: RunLimits | None = None,
) -> Runner:
    """`limits` are the usual runs' limits, for which bubblewrap keeps sandboxes ready."""
    if setting == "auto":
        if BubblewrapRunner.usable():
            return BubblewrapRunner(warm_limits=limits)
        setting = "local"
    if setting == "bubblewrap":
        if not BubblewrapRunner.usable():
            raise Unavailable(
                "CODELOFT_RUNNER=bubblewrap, but bwrap, prlimit or libseccomp (with pyseccomp) is not installed: "
                "install bubblewrap and libseccomp2 (scripts/start does)."
            )
        return BubblewrapRunner(warm_limits=limits)
    if setting == "local":
        if multi_user:
            raise InvalidInput(
                "The local runner does not isolate user code, so it is refused when several people can sign in: "
                "install bubblewrap or use CODELOFT_RUNNER=docker."
            )
        return LocalRunner()
    if setting == "docker":
        from runners.docker import DockerRunner  # the Docker SDK is loaded only when it is used

        return DockerRunner.connect(docker_url, images=docker_images)
    raise InvalidInput(f"Unknown CODELOFT_RUNNER {setting!r}: use auto, bubblewrap, docker or local.")
