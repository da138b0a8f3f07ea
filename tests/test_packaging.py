"""What a newcomer and an operator run: the demo, the chat, the wheel, the image definition."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bot.demo import DEMO_TEAM

ROOT = Path(__file__).resolve().parent.parent
OPSDRILL = Path(sys.executable).parent / "opsdrill"


def _env(tmp_path: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPSDRILL_", "SLACK_", "DISCORD_", "ANTHROPIC_", "PYTHON"))
    }
    return env | {"DATABASE_URL": f"sqlite:///{tmp_path / 'opsdrill.db'}", "COLUMNS": "100"}


def _run(args: list[str], tmp_path: Path, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(OPSDRILL), *args], cwd=tmp_path, env=_env(tmp_path), capture_output=True,
        text=True, timeout=120, **kw,  # type: ignore[call-overload]
    )  # fmt: skip


def test_the_demo_plays_a_whole_round_and_can_run_again(tmp_path: Path) -> None:
    for _ in range(2):
        result = _run(["demo"], tmp_path)
        assert result.returncode == 0, result.stderr
        out = result.stdout
        assert "Today's MLOps question" in out
        assert out.count("Your answer scored") == 3
        assert "Round closed: the model answer" in out
        assert "Leaderboard" in out and "@ada" in out
        assert "Traceback" not in out + result.stderr


def test_chat_takes_an_answer_and_commands_from_the_terminal(tmp_path: Path) -> None:
    script = "\n".join([
        "/drill today",
        "I retrain when live precision on fresh labels drops below the agreed threshold.",
        "/drill frobnicate",
        "/drill close",
        "/drill leaderboard all",
        "/quit",
    ]) + "\n"  # fmt: skip
    result = _run(["chat", "--admin", "--name", "sam"], tmp_path, input=script)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Today's MLOps question" in out
    assert "Unknown command frobnicate" in out  # the terminal draws `code` as a style
    assert "Round closed: the model answer" in out
    assert "@sam" in out
    assert "Traceback" not in out + result.stderr


def test_in_chat_a_mock_interview_reply_never_replaces_the_round_answer(tmp_path: Path) -> None:
    script = "\n".join([
        "I retrain when live precision on fresh labels drops below the agreed threshold.",
        "/drill mock monitoring 1",
        "hint",
        "stop",
        "/drill close",
        "/quit",
    ]) + "\n"  # fmt: skip
    result = _run(["chat", "--name", "sam"], tmp_path, input=script)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.count("Your answer scored") == 1  # the round answer only: "hint" went to the mock
    assert "Partial scorecard" in out and "Hint" in out
    assert "Traceback" not in out + result.stderr


def test_in_chat_a_command_without_its_slash_is_suggested_and_talk_is_not_graded(
    tmp_path: Path,
) -> None:
    out = _chat(
        tmp_path,
        "drill today",
        "help",
        "I retrain when live precision on fresh labels drops below the agreed threshold.",
        "thanks, great question",
        "new answer: I retrain every month.",
        "/drill keep",
        "/drill close",
    )
    assert "Did you mean /drill today?" in out and "Did you mean /drill help?" in out
    assert "Only your first reply is graded" in out  # the talk: a hint, no grade
    assert "Kept your answer" in out
    assert out.count("Your answer scored") == 1  # the first answer only
    assert out.count("👀 on sam's answer") == 2  # the answer and the new attempt, nothing else


def _chat(tmp_path: Path, *lines: str) -> str:
    """What `opsdrill chat` as sam printed for `lines` typed, then /quit (checked clean)."""
    result = _run(["chat", "--name", "sam"], tmp_path, input="\n".join([*lines, "/quit", ""]))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return result.stdout


def test_operators_export_a_whole_team_to_json(tmp_path: Path) -> None:
    assert _run(["demo"], tmp_path).returncode == 0
    out = tmp_path / "team.json"
    result = _run(["export", "--team", DEMO_TEAM, "--platform", "console", "--out", str(out)],
                  tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Wrote 3 member(s)" in result.stdout
    data = json.loads(out.read_text())
    assert {m["name"] for m in data["members"]} == {"ada", "grace", "linus"}
    assert all(m["answers"] and m["answers"][0]["grades"] for m in data["members"])
    unknown = _run(["export", "--team", "nope", "--out", str(out)], tmp_path)
    assert unknown.returncode == 1 and "No slack team `nope`" in unknown.stderr


def test_run_without_a_platform_explains_what_to_set(tmp_path: Path) -> None:
    result = _run(["run"], tmp_path)
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN" in result.stderr and "opsdrill chat" in result.stderr


SOURCES = ["pyproject.toml", "README.md", "bot", "adapters", "questions", "migrations"]


def _build_wheel(tmp_path: Path) -> Path:
    """The wheel built from a clean copy of the sources (a `build/` left in the checkout by
    an earlier build would leak deleted files into it), with the tools already installed."""
    source = tmp_path / "source"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))  # fmt: skip
        else:
            shutil.copy2(ROOT / name, source / name)
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(dist), str(source)],
        check=True, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    (wheel,) = dist.glob("opsdrill-*.whl")
    return wheel


def _fresh_venv(path: Path) -> Path:
    """A new venv that sees the dependencies installed here but not this checkout: a plain
    .pth line adds the site-packages directory without running its .pth files, and one of
    those is the editable install that points at the checkout."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    python = path / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    Path(site, "project-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return python


def test_the_wheel_carries_the_code_the_question_bank_and_the_migrations(tmp_path: Path) -> None:
    names = set(zipfile.ZipFile(_build_wheel(tmp_path)).namelist())
    shipped = {
        ("bot/data/" if p.parts[0] in ("questions", "migrations") else "") + p.as_posix()
        for top in ("bot", "adapters", "questions", "migrations")
        for p in (q.relative_to(ROOT) for q in (ROOT / top).rglob("*"))
        if p.suffix in (".py", ".yaml", ".json", ".mako") and "__pycache__" not in p.parts
    }
    assert shipped - names == set()


def test_the_installed_wheel_runs_the_demo_and_migrates_outside_the_checkout(
    tmp_path: Path,
) -> None:
    wheel = _build_wheel(tmp_path)
    python = _fresh_venv(tmp_path / "venv")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
         "--no-deps", "--no-index", str(wheel)],
        check=True, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(args), cwd=elsewhere, env=_env(elsewhere), capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip

    where = run(str(python), "-c", "import bot; print(bot.__file__)")
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(tmp_path / "venv")
    opsdrill = str(python.parent / "opsdrill")
    upgrade = run(opsdrill, "db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    assert "Database is up to date." in upgrade.stdout
    demo = run(opsdrill, "demo")
    assert demo.returncode == 0, demo.stderr
    assert "Today's MLOps question" in demo.stdout and "Round closed" in demo.stdout
    assert "Traceback" not in demo.stdout + demo.stderr


def _pins(lock: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / lock).read_text().splitlines():
        requirement = line.split(";")[0].strip()
        if requirement and not requirement.startswith(("#", "-")):
            name, _, version = requirement.partition("==")
            pins[canonicalize_name(name)] = version
    return pins


@pytest.mark.parametrize(("lock", "groups"), [
    ("requirements.lock", ["dependencies"]),
    ("requirements-dev.lock", ["dependencies", "dev"]),
])  # fmt: skip
def test_the_lock_pins_every_dependency_within_its_range(lock: str, groups: list[str]) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = _pins(lock)
    for group in groups:
        wanted = (
            project[group] if group == "dependencies" else project["optional-dependencies"][group]
        )
        for requirement in map(Requirement, wanted):
            name = canonicalize_name(requirement.name)
            assert name in pins, f"{requirement} is not in {lock}: run `make lock`"
            assert requirement.specifier.contains(pins[name], prereleases=True), (
                f"{lock} pins {name}=={pins[name]}, outside {requirement}: run `make lock`"
            )


def test_development_runs_the_versions_the_image_runs() -> None:
    runtime, dev = _pins("requirements.lock"), _pins("requirements-dev.lock")
    assert {name: dev.get(name) for name in runtime} == runtime


def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    result = subprocess.run(
        [hadolint, "--failure-threshold", "warning", str(ROOT / "Dockerfile")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_and_the_venv_install_the_locked_versions() -> None:
    """Docker itself is not needed to check the image definition: the image installs the
    wheel (never the sources in editable mode) on top of the lock, like the Makefile's venv."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    makefile = (ROOT / "Makefile").read_text()
    stages = [line for line in dockerfile.splitlines() if line.startswith("FROM ")]
    assert len(stages) == 2 and "-slim" in stages[-1]
    assert "pip wheel" in dockerfile and "-e ." not in dockerfile
    assert "-r /tmp/requirements.lock" in dockerfile and "--no-deps /tmp/dist/" in dockerfile
    assert "USER 10001" in dockerfile and "HEALTHCHECK" in dockerfile
    assert "install -r requirements-dev.lock" in makefile and "--no-deps" in makefile
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ".env" in ignored and ".venv" in ignored


@pytest.mark.parametrize(
    "path",
    [".ci/run", "README.md", ".env.example", "docker-compose.yml", ".dockerignore",
     "requirements.lock", "requirements-dev.lock"],
)  # fmt: skip
def test_project_files_exist(path: str) -> None:
    assert (ROOT / path).is_file()
