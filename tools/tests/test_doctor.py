"""tools/doctor.py: every failure a workshop laptop can have gets its message and its fix, and a
ready machine gets exit code 0."""

import os
import re
import shutil
import socket
import subprocess
import sys

import doctor
import pytest
from conftest import missing
from servers import free_port
from stages import GENERATED, ROOT

DOCTOR = str(ROOT / "tools" / "doctor.py")
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def run_doctor(*args, env=None, python=(sys.executable,)):
    base = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    result = subprocess.run(
        [*python, DOCTOR, *args],
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        cwd=ROOT,
        timeout=120,
    )
    return result.returncode, result.stdout


def test_ready_machine_passes_every_check(redis_url):
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        missing("browser")
    ports = f"{free_port()},{free_port()}"
    # One stage keeps this fast; the fullest one, so every setting the others have is covered.
    stage = str(ROOT / "part4_tests")
    code, out = run_doctor("--ports", ports, "--stage", stage, env={"REDIS_URL": redis_url})
    assert code == 0, out
    assert "✗" not in out
    assert "part4_tests: settings check passed" in out
    assert re.search(r"✓ Redis \d+\.\d+", out)
    assert out.rstrip().endswith("✓ 준비 완료 / ready")


def test_each_message_comes_in_the_chosen_language():
    both = run_doctor("--only", "python")[1]
    korean = run_doctor("--only", "python", "--lang", "ko")[1]
    english = run_doctor("--only", "python", "--lang", "en")[1]
    assert "파이썬(Python)" in both and " / Python " in both
    assert HANGUL.search(korean) and "ready" not in korean
    assert not HANGUL.search(english) and "ready" in english


def test_plain_python_without_the_environment_is_told_to_run_uv_sync():
    # -S leaves site-packages out: the situation of `python3 tools/doctor.py` before `uv sync`.
    code, out = run_doctor("--only", "env,stages", "--lang", "en", python=(sys.executable, "-S"))
    assert code == 1
    assert "✗ the project environment is not installed" in out
    assert "cannot import django, channels, channels-redis, daphne" in out
    assert "`uv sync`" in out
    assert "! the stages' settings can be checked once the environment is installed" in out


def test_wrong_package_version_names_what_is_needed():
    result = doctor.check_environment({"django": ">=9.0"})
    assert result.status == doctor.FAIL
    assert re.search(r"django 5\.2\.\d+ \(>=9\.0\)", result.en)
    assert "uv.lock" in result.fix_en and "uv.lock" in result.fix_ko


def test_old_python_is_refused_with_how_to_get_a_new_one():
    result = doctor.check_python((3, 10, 12))
    assert result.status == doctor.FAIL
    assert result.en == "Python 3.10.12 is too old: 3.11 or newer is needed"
    assert "uv python install" in result.fix_en and "uv python install" in result.fix_ko
    assert doctor.check_python((3, 11, 0)).status == doctor.OK


def test_broken_stage_settings_name_the_error_and_the_reset(tmp_path):
    stage = tmp_path / "part1_echo"
    shutil.copytree(ROOT / "part1_echo", stage, ignore=shutil.ignore_patterns(*GENERATED))
    settings = stage / "mysite" / "settings.py"
    settings.write_text(settings.read_text().replace('"chat",', '"chat", "no_such_app",', 1))
    code, out = run_doctor("--only", "stages", "--stage", str(stage), "--lang", "en")
    assert code == 1
    assert "✗ part1_echo: `manage.py check` failed:" in out
    assert "No module named 'no_such_app'" in out
    assert "`git checkout -- part1_echo`" in out


def test_occupied_port_names_the_process_holding_it():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        code, out = run_doctor(
            "--only", "ports", "--ports", f"{port},{free_port()}", "--lang", "en"
        )
    assert code == 1
    assert f"✗ port {port} is already in use by" in out
    assert f"(PID {os.getpid()})" in out
    assert f"`kill {os.getpid()}`" in out and f"`runserver {port + 10}`" in out


def test_closed_redis_port_says_how_to_start_redis():
    url = f"redis://127.0.0.1:{free_port()}/0"
    code, out = run_doctor("--only", "redis", "--lang", "en", env={"REDIS_URL": url})
    assert code == 1
    assert f"✗ cannot reach Redis at REDIS_URL ({url}): Connection refused" in out
    assert "docker compose up -d redis" in out and "unset REDIS_URL" in out


def test_redis_rejecting_the_password_is_reported(redis_url):
    # The test Redis has no password, so AUTH is answered with an error.
    url = redis_url.replace("redis://", "redis://:secret@")
    code, out = run_doctor("--only", "redis", "--lang", "en", env={"REDIS_URL": url})
    assert code == 1
    assert "refused the request" in out and "secret" not in out
    assert "check the password in REDIS_URL" in out


def test_redis_older_than_5_is_refused():
    result = doctor.redis_version_result("4.0.14")
    assert result.status == doctor.FAIL
    assert "BZPOPMIN" in result.en and "BZPOPMIN" in result.ko
    assert doctor.redis_version_result("5.0.0").status == doctor.OK


def test_no_redis_url_is_fine_and_says_the_in_memory_layer_is_used():
    code, out = run_doctor("--only", "redis", "--lang", "en")
    assert code == 0
    assert "REDIS_URL is not set: stages 2-4 use the in-memory channel layer" in out


def path_without(tmp_path, name, replacement=None):
    """A PATH with every program of the current PATH except `name` (optionally a stand-in)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for directory in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(directory):
            continue
        for entry in os.scandir(directory):
            target = bin_dir / entry.name
            if entry.name != name and not target.exists():
                target.symlink_to(entry.path)
    if replacement:
        stand_in = bin_dir / name
        stand_in.write_text(replacement)
        stand_in.chmod(0o755)
    return str(bin_dir)


def test_missing_chromedriver_says_how_to_install_it(tmp_path):
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        missing("browser")
    path = path_without(tmp_path, "chromedriver")
    code, out = run_doctor("--only", "browser", "--lang", "en", env={"PATH": path})
    assert code == 1
    assert "✗ chromedriver not found on PATH (part4's browser tests need it)" in out
    assert "apt-get install chromium chromium-driver" in out


def test_chromedriver_of_another_major_version_is_refused(tmp_path):
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        missing("browser")
    old_driver = "#!/bin/sh\necho 'ChromeDriver 99.0.4844.51 (abc)'\n"
    path = path_without(tmp_path, "chromedriver", replacement=old_driver)
    code, out = run_doctor("--only", "browser", "--lang", "en", env={"PATH": path})
    assert code == 1
    assert re.search(r"✗ versions differ: Chromium \d+, chromedriver 99 ", out)
    assert "install both from one source" in out


def test_unknown_check_name_is_a_usage_error():
    code, _ = run_doctor("--only", "pyton")
    assert code == 2


@pytest.mark.parametrize(
    ("version", "spec", "ok"),
    [
        ("5.2.8", ">=5.2,<5.3", True),
        ("5.3", ">=5.2,<5.3", False),
        ("4.3.0", "~=4.3", True),
        ("5.0", "~=4.3", False),
    ],
)
def test_version_specifiers(version, spec, ok):
    assert doctor.satisfies(version, spec) is ok
