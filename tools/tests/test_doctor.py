"""tools/doctor.py: every failure a workshop laptop can have gets its message and its fix, a
ready machine gets exit code 0, and what only makes tests skip (no browser, no Redis) is a warning
on a laptop and a failure with --strict or in CI."""

import os
import re
import shutil
import socket
import subprocess
import sys

import browsers
import doctor
import pytest
from conftest import fake_path, missing
from install_hints import browser_install
from servers import free_port
from stages import ROOT, copy_stage

pytestmark = pytest.mark.slow  # see pyproject: `uv run pytest -m slow`

DOCTOR = str(ROOT / "tools" / "doctor.py")
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def run_doctor(*args, env=None, python=(sys.executable,)):
    """The doctor as a learner runs it on a laptop (no CI, no REDIS_URL) unless env says else."""
    base = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CI")}
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
    if not browsers.detect().ready:
        missing("browser")
    ports = f"{free_port()},{free_port()}"
    # One stage keeps this fast; the fullest one, so every setting the others have is covered.
    stage = str(ROOT / "part4_tests")
    code, out = run_doctor("--ports", ports, "--stage", stage, env={"REDIS_URL": redis_url})
    assert code == 0, out
    assert "✗" not in out
    assert "part4_tests: settings check passed" in out
    assert "project environment matches uv.lock" in out
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


def lock_with(tmp_path, name, old, new):
    """A copy of uv.lock in which package `name` is pinned at `new` instead of `old`."""
    text = (ROOT / "uv.lock").read_text()
    entry = f'name = "{name}"\nversion = "{old}"'
    assert entry in text
    lock = tmp_path / "uv.lock"
    lock.write_text(text.replace(entry, f'name = "{name}"\nversion = "{new}"'))
    return lock


def installed(name):
    from importlib import metadata

    return metadata.version(name)


def test_versions_are_compared_with_uv_lock_exactly(tmp_path):
    django, twisted = installed("django"), installed("twisted")
    assert doctor.check_environment().status == doctor.OK
    # A patch release of difference is enough, for a direct and an indirect dependency.
    result = doctor.check_environment(lock_path=lock_with(tmp_path, "django", django, "5.2.0"))
    assert result.status == doctor.FAIL
    assert f"django {django} (uv.lock: 5.2.0)" in result.text.en
    assert "uv.lock" in result.fix.en and "uv.lock" in result.fix.ko
    result = doctor.check_environment(lock_path=lock_with(tmp_path, "twisted", twisted, "1.0"))
    assert f"twisted {twisted} (uv.lock: 1.0)" in result.text.en


def test_a_locked_package_that_is_not_installed_is_named(tmp_path):
    text = (ROOT / "uv.lock").read_text()
    lock = tmp_path / "uv.lock"
    # The project's own entry gains a dependency nothing installed.
    start = text.index('source = { virtual = "." }\n')
    at = text.index("dependencies = [\n", start) + len("dependencies = [\n")
    lock.write_text(text[:at] + '    { name = "no-such-package" },\n' + text[at:])
    extra = (
        '[[package]]\nname = "no-such-package"\nversion = "1.0"\nsource = { registry = "r" }\n\n'
    )
    lock.write_text(lock.read_text().replace("[[package]]\n", extra + "[[package]]\n", 1))
    result = doctor.check_environment(lock_path=lock)
    assert result.status == doctor.FAIL
    assert "no-such-package (uv.lock: 1.0; not installed)" in result.text.en


def test_without_packaging_any_locked_version_passes_and_others_fail(tmp_path):
    django = installed("django")
    assert doctor.check_environment(exact=False).status == doctor.OK
    lock = lock_with(tmp_path, "django", django, "5.2.0")
    result = doctor.check_environment(lock_path=lock, exact=False)
    assert f"django {django} (uv.lock: 5.2.0)" in result.text.en


@pytest.mark.parametrize("build", ["linux-x86_64", "linux-aarch64", "win-amd64"])
def test_a_platform_with_wheels_for_everything_says_nothing(build):
    assert doctor.check_platform(build) is None


def test_native_arm64_python_on_windows_is_told_to_use_x64_python():
    result = doctor.check_platform("win-arm64")
    assert result.status == doctor.FAIL
    assert "cryptography" in result.text.en and "cryptography" in result.text.ko
    x64 = "cpython-3.12-windows-x86_64-none"
    for fix in (result.fix.en, result.fix.ko):
        assert f"`uv python install {x64}`" in fix and f"`uv sync --python {x64}`" in fix
    assert doctor.check_platform("win32").status == doctor.FAIL  # 32-bit Python


def test_macos_older_than_the_checked_floor_is_named():
    universal = "macosx-10.13-universal2"
    assert doctor.check_platform(universal, "12.7.4") is None
    assert doctor.check_platform(universal, "15.1") is None
    old = doctor.check_platform(universal, "11.7.10")
    assert old.status == doctor.WARN
    assert old.text.en.startswith("macOS 11.7.10: the workshop is checked on macOS 12 or newer")
    assert "Codespaces" in old.fix.en and "Codespaces" in old.fix.ko


def test_a_platform_the_lock_does_not_cover_is_a_warning():
    result = doctor.check_platform("linux-armv7l")
    assert result.status == doctor.WARN and "linux-armv7l" in result.text.en
    assert "docker compose up" in result.fix.en


def test_groups_count_when_installed_and_only_then():
    """A learner's `uv sync` (test) passes; docs or dev count once their packages are there."""
    learner = learner_names()
    synced, groups = doctor.locked_versions(installed=learner)
    assert groups == ["test"] and set(synced) <= learner
    with_docs = learner | {"mkdocs", "mkdocs-material", "mkdocs-static-i18n"}
    synced, groups = doctor.locked_versions(installed=with_docs)
    assert groups == ["test", "docs"] and "mkdocs" in synced
    # Half a group is not that group: mkdocs alone leaves docs out of the check.
    assert doctor.locked_versions(installed=learner | {"mkdocs"})[1] == ["test"]


def learner_names():
    """The names a learner's `uv sync` installs here, read from the lock."""
    import lock_coverage as lc
    from packaging.markers import default_environment

    lock = lc.Lock(lc.load())
    env = {**default_environment(), "extra": ""}
    return {name for name, _ in lock.reached(env, ["test"])}


def test_old_python_is_refused_with_how_to_get_a_new_one():
    result = doctor.check_python((3, 10, 12))
    assert result.status == doctor.FAIL
    assert result.text.en == "Python 3.10.12 is too old: 3.11 or newer is needed"
    assert "uv python install" in result.fix.en and "uv python install" in result.fix.ko
    assert doctor.check_python((3, 11, 0)).status == doctor.OK


def test_broken_stage_settings_name_the_error_and_the_reset(tmp_path):
    stage = tmp_path / "part1_echo"
    copy_stage("part1_echo", stage)
    settings = stage / "mysite" / "settings.py"
    text = settings.read_text()
    assert "'chat'," in text
    settings.write_text(text.replace("'chat',", "'chat', 'no_such_app',", 1))
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
    assert "Remove-Item Env:REDIS_URL" in out and "set REDIS_URL=" in out  # PowerShell, cmd


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
    assert "BZPOPMIN" in result.text.en and "BZPOPMIN" in result.text.ko
    assert doctor.redis_version_result("5.0.0").status == doctor.OK


def test_no_redis_url_is_fine_and_says_the_in_memory_layer_is_used():
    code, out = run_doctor("--only", "redis", "--lang", "en")
    assert code == 0
    assert "REDIS_URL is not set: stages 2-4 use the in-memory channel layer" in out


def laptop_env(path, tmp_path, **extra):
    """A PATH and an empty Selenium Manager cache, so only what the test lays out is found."""
    return {"PATH": path, "SE_CACHE_PATH": str(tmp_path / "selenium-cache"), **extra}


@pytest.mark.parametrize("browser_name", ["chromium", "google-chrome"])
def test_a_browser_without_its_driver_is_not_ready(tmp_path, browser_name):
    """Selenium would go online for a driver, and fail in a room without the internet."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not (chromium and shutil.which("chromedriver")):
        missing("browser")
    env = laptop_env(
        fake_path(tmp_path, drop={"chromedriver"}, add={browser_name: chromium}), tmp_path
    )
    code, out = run_doctor("--only", "browser", "--lang", "en", env=env)
    assert code == 1, out
    name = {"chromium": "Chromium", "google-chrome": "Google Chrome"}[browser_name]
    assert f"✗ not ready for the browser tests: {name} found, but no chromedriver" in out
    assert "run once while online: `uv run python tools/doctor.py --fetch-driver`" in out
    assert ("apt-get install chromium-driver" in out) == (browser_name == "chromium")
    summary = "✗ not ready: 1 problem(s); fix them as shown (→), then run this again"
    assert out.rstrip().endswith(summary)
    korean = run_doctor("--only", "browser", "--lang", "ko", env=env)[1]
    assert "준비 안 됨" in korean and "--fetch-driver" in korean


@pytest.mark.parametrize("how", [("--strict",), ()], ids=["strict", "CI"])
def test_no_browser_fails_with_strict_and_in_ci(tmp_path, how):
    env = laptop_env(fake_path(tmp_path), tmp_path, **({} if how else {"CI": "true"}))
    code, out = run_doctor("--only", "browser", "--lang", "en", *how, env=env)
    assert code == 1
    assert (
        "✗ the browser tests cannot run here (no Chromium, Google Chrome or Microsoft Edge" in out
    )
    assert browser_install().en in out


def test_google_chrome_alone_is_enough(tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not (chromium and shutil.which("chromedriver")):
        missing("browser")
    env = laptop_env(fake_path(tmp_path, add={"google-chrome": chromium}), tmp_path)
    code, out = run_doctor("--only", "browser", "--lang", "en", "--strict", env=env)
    assert code == 0, out
    assert re.search(r"✓ Google Chrome (\d+), chromedriver \1 ", out), out


def test_chromedriver_of_another_major_version_is_refused(tmp_path):
    browser = "#!/bin/sh\necho 'Chromium 156.0.1.2'\n"
    old_driver = "#!/bin/sh\necho 'ChromeDriver 99.0.4844.51 (abc)'\n"
    path = fake_path(tmp_path, add={"chromium": browser, "chromedriver": old_driver})
    code, out = run_doctor("--only", "browser", "--lang", "en", env=laptop_env(path, tmp_path))
    assert code == 1
    assert "✗ browser and driver versions differ: Chromium 156 needs chromedriver 156" in out
    assert "chromedriver 99" in out and "--fetch-driver" in out


def test_fetch_driver_only_goes_online_when_a_driver_is_missing(tmp_path):
    if not browsers.detect().ready:
        missing("browser")
    code, out = run_doctor("--fetch-driver", "--lang", "en")
    assert code == 0 and out.startswith("✓ a matching driver is already there: /"), out
    env = laptop_env(fake_path(tmp_path), tmp_path)
    code, out = run_doctor("--fetch-driver", "--lang", "en", env=env)
    assert code == 1 and "✗ install a browser first" in out


def closed_port_url():
    return f"redis://127.0.0.1:{free_port()}/0"


@pytest.mark.parametrize("platform", ["linux", "darwin", "win32"])
def test_no_redis_is_a_warning_with_this_oses_fix(tmp_path, platform):
    empty = str(tmp_path)
    results = doctor.check_local_redis(False, closed_port_url(), path=empty, platform=platform)
    assert [r.status for r in results] == [doctor.WARN]
    assert "the Redis tests skip" in results[0].text.en
    fix = results[0].fix.en
    assert {"linux": "apt-get install redis-server", "darwin": "brew services start redis"}.get(
        platform, "WSL"
    ) in fix
    if platform == "win32":
        assert "Docker Desktop" in fix and "no native redis-server" in fix
    strict = doctor.check_local_redis(True, closed_port_url(), path=empty, platform=platform)
    assert strict[0].status == doctor.FAIL


def test_a_running_redis_is_found_without_redis_url(tmp_path, redis_url):
    results = doctor.check_local_redis(False, redis_url, path=str(tmp_path))
    assert len(results) == 1 and results[0].status == doctor.OK
    assert re.match(rf"Redis \d+\.\d+\.\d+ answers at {redis_url}", results[0].text.en)


def test_redis_server_on_path_is_reported_without_redis_url(tmp_path):
    script = "#!/bin/sh\necho 'Redis server v=7.2.4 sha=00000000:0 malloc=jemalloc-5.3.0'\n"
    path = fake_path(tmp_path, add={"redis-server": script})
    results = doctor.check_local_redis(True, closed_port_url(), path=path)
    assert [(r.status, r.text.en) for r in results] == [
        (doctor.OK, "redis-server 7.2.4: the Redis tests start their own")
    ]
    old = "#!/bin/sh\necho 'Redis server v=4.0.9 sha=00000000:0'\n"
    (tmp_path / "bin" / "redis-server").write_text(old)
    assert doctor.check_local_redis(True, closed_port_url(), path=path)[0].status == doctor.FAIL


def test_redis_and_docker_are_reported_by_the_cli_without_redis_url():
    code, out = run_doctor("--only", "redis,docker", "--lang", "en")
    assert "· REDIS_URL is not set" in out
    assert re.search(r"(redis-server \d|answers at|no Redis here)", out)
    assert re.search(r"Docker (is not installed|engine|client)|the Docker client", out)


def docker_script(info_code, info_out, compose_out=""):
    return (
        "#!/bin/sh\n"
        f'if [ "$1" = info ]; then echo "{info_out}"; exit {info_code}; fi\n'
        f'if [ "$1" = compose ]; then echo "{compose_out}"; exit 0; fi\n'
    )


def test_docker_is_reported(tmp_path):
    assert "not installed" in doctor.check_docker(path=str(tmp_path)).text.en
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(docker_script(1, "Cannot connect to the Docker daemon"))
    docker.chmod(0o755)
    stopped = doctor.check_docker(path=str(bin_dir), platform="darwin")
    assert stopped.text.en == (
        "the Docker client is installed, but its engine is not running (optional)"
    )
    assert stopped.fix.en == "to use compose, start Docker Desktop"
    assert "systemctl" in doctor.check_docker(path=str(bin_dir), platform="linux").fix.en
    docker.write_text(docker_script(0, "27.3.1", "Docker Compose version v2.29.7"))
    running = doctor.check_docker(path=str(bin_dir))
    assert (running.status, running.text.en) == (
        doctor.OK,
        "Docker engine 27.3.1: `docker compose up -d redis` gives a Redis",
    )


def test_docker_without_compose_v2_is_a_warning_saying_how_to_get_it(tmp_path):
    # An engine that runs, and a client without the compose plugin (only docker-compose 1.x).
    docker = tmp_path / "docker"
    docker.write_text(
        '#!/bin/sh\nif [ "$1" = info ]; then echo 27.3.1; exit 0; fi\n'
        "echo \"docker: 'compose' is not a docker command.\" >&2; exit 1\n"
    )
    docker.chmod(0o755)
    linux = doctor.check_docker(path=str(tmp_path), platform="linux")
    assert linux.status == doctor.WARN
    assert linux.text.en.startswith("Docker has no Compose v2: `docker compose version` fails")
    assert "`sudo apt-get install docker-compose-plugin`" in linux.fix.en
    assert "docker-compose-plugin" in linux.fix.ko
    mac = doctor.check_docker(path=str(tmp_path), platform="darwin")
    assert mac.fix.en == "update Docker Desktop: its current releases include Compose v2"


def test_the_ports_compose_publishes_are_read_from_the_file():
    ports = doctor.compose_ports()
    assert ports[6379] == "redis" and ports[8001] == "part1" and ports[8004] == "part4"
    assert ports[8031] == "part3-scale-a" and ports[8032] == "part3-scale-b"


def test_a_compose_port_in_use_is_a_warning_naming_the_service():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        results = doctor.check_ports([free_port()], {port: "redis"})
    assert [r.status for r in results] == [doctor.WARN]
    warning = results[0].text.en
    assert f"port {port}, which docker compose publishes for redis, is in use by" in warning
    assert "`docker compose up` would fail" in warning


def test_windows_checks_apply_only_on_windows(tmp_path):
    assert doctor.check_windows(platform="linux") == []
    assert doctor.check_windows(platform="darwin") == []
    apps = tmp_path / "Microsoft" / "WindowsApps"
    apps.mkdir(parents=True)
    alias = apps / "python3"
    alias.write_text("")
    alias.chmod(0o755)
    results = doctor.check_windows("win32", path=str(apps), policy="Restricted")
    assert [r.status for r in results] == [doctor.WARN, doctor.WARN]
    assert "Microsoft Store's alias" in results[0].text.en
    assert "App execution aliases" in results[0].fix.en
    assert "Activate.ps1" in results[1].text.en
    assert "Set-ExecutionPolicy -Scope CurrentUser RemoteSigned" in results[1].fix.en
    # A real Store Python, and a policy that runs local scripts: nothing to say.
    (apps / "PythonSoftwareFoundation.Python.3.13_qbz5n2kfra8p0").mkdir()
    fine = doctor.check_windows("win32", path=str(apps), policy="RemoteSigned")
    assert [r.status for r in fine] == [doctor.OK]


def test_port_advice_names_this_oses_command():
    assert "`taskkill /PID 42 /F`" in doctor.stop_advice(42, "win32").en
    assert "`kill 42`" in doctor.stop_advice(42, "linux").en


def test_unknown_check_name_is_a_usage_error():
    code, _ = run_doctor("--only", "pyton")
    assert code == 2
