"""The s2i scripts and image files, run against temporary folders (no container engine needed)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import urllib.error
import urllib.request
from io import BytesIO
from pathlib import Path

import pytest
from utils import HeldPorts, spawn, stop_group, wait_until

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "s2i" / "bin"
SCRIPTS = ("assemble", "run", "usage", "save-artifacts")
TIMEOUT = 30

# Prints its PID and arguments, so a test sees what `run` exec'd (same PID means exec).
FAKE_SERVER = """#!/usr/bin/env bash
printf '{"pid": %s, "argv": [' "$$"
first=1
for arg in "$@"; do
    [[ $first == 1 ]] || printf ', '
    first=0
    printf '"%s"' "$arg"
done
printf '], "cwd": "%s"}\\n' "$PWD"
"""
FAKE_PIP = """#!/usr/bin/env bash
printf '%s\\n' "$*" >> "$PIP_LOG"
"""


def write_script(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o755)
    return path


@pytest.fixture
def dirs(tmp_path: Path) -> dict[str, Path]:
    found = {name: tmp_path / name for name in ("src", "microservice", "artifacts", "tools")}
    for name in ("src", "tools"):
        found[name].mkdir()
    write_script(found["tools"] / "fake-server", FAKE_SERVER)
    write_script(found["tools"] / "fake-pip", FAKE_PIP)
    return found


def base_env(dirs: dict[str, Path], **extra: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(dirs["tools"]),
        "S2I_SOURCE_DIR": str(dirs["src"]),
        "MICROSERVICE_DIR": str(dirs["microservice"]),
        "S2I_ARTIFACTS_DIR": str(dirs["artifacts"]),
        "WHEEL_DIR": str(dirs["tools"] / "no-wheels"),
        "S2I_PIP": str(dirs["tools"] / "fake-pip"),
        "PIP_LOG": str(dirs["tools"] / "pip.log"),
        "SELDON_MICROSERVICE_CMD": str(dirs["tools"] / "fake-server"),
    }
    env.update(extra)
    return env


def script(name: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / name), *args], env=env, capture_output=True, text=True, timeout=TIMEOUT
    )


def model_source(src: Path, environment: str | None) -> None:
    (src / "MyModel.py").write_text(
        "class MyModel:\n    def predict(self, X, names):\n        return X\n"
    )
    if environment is not None:
        (src / ".s2i").mkdir()
        (src / ".s2i" / "environment").write_text(environment)


def pip_calls(dirs: dict[str, Path]) -> list[str]:
    log = dirs["tools"] / "pip.log"
    return log.read_text().splitlines() if log.exists() else []


# -- assemble --------------------------------------------------------------------------------


def test_assemble_without_model_name_fails_clearly(dirs: dict[str, Path]) -> None:
    model_source(dirs["src"], "SERVICE_TYPE=MODEL\n")
    result = script("assemble", base_env(dirs))
    assert result.returncode == 1
    assert "MODEL_NAME is not set" in result.stderr


def test_assemble_without_persistence_copies_the_source(dirs: dict[str, Path]) -> None:
    model_source(dirs["src"], "MODEL_NAME=MyModel\nSERVICE_TYPE=MODEL\n")
    result = script("assemble", base_env(dirs))
    assert result.returncode == 0, result.stderr
    assert (dirs["microservice"] / "MyModel.py").is_file()
    assert (dirs["microservice"] / ".s2i" / "environment").is_file()
    assert "nothing to install" in result.stdout
    assert pip_calls(dirs) == []


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SERVICE_TYPE", "", "SERVICE_TYPE is not set"),
        ("SERVICE_TYPE", "PREDICTOR", "is not one of: MODEL ROUTER"),
        ("PERSISTENCE", "2", "0 or 1 when set"),
    ],
)
def test_assemble_refuses_bad_settings(
    dirs: dict[str, Path], variable: str, value: str, message: str
) -> None:
    model_source(dirs["src"], None)
    env = base_env(dirs, MODEL_NAME="MyModel", SERVICE_TYPE="MODEL")
    env[variable] = value
    result = script("assemble", env)
    assert result.returncode == 1
    assert message in result.stderr
    assert not (dirs["microservice"] / "MyModel.py").exists()


def test_assemble_ignores_api_type_and_prefers_the_environment(dirs: dict[str, Path]) -> None:
    model_source(dirs["src"], "MODEL_NAME=Other\nSERVICE_TYPE=MODEL\nAPI_TYPE=GRPC\n")
    result = script("assemble", base_env(dirs, MODEL_NAME="MyModel", SERVICE_TYPE="router"))
    assert result.returncode == 0, result.stderr
    assert "API_TYPE=GRPC is ignored" in result.stdout
    assert "MyModel (router) is ready" in result.stdout
    assert "warning" not in result.stdout


def test_assemble_warns_when_the_model_module_is_missing(dirs: dict[str, Path]) -> None:
    model_source(dirs["src"], "MODEL_NAME=pkg.Missing\nSERVICE_TYPE=MODEL\n")
    result = script("assemble", base_env(dirs))
    assert result.returncode == 0, result.stderr
    assert "warning: no pkg.py in the source" in result.stdout


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (("requirements.txt", "setup.py", "pyproject.toml"), "-r requirements.txt"),
        (("setup.py", "pyproject.toml"), "-e ."),
        (("pyproject.toml",), "-e ."),
    ],
)
def test_assemble_installs_one_dependency_source_in_priority_order(
    dirs: dict[str, Path], files: tuple[str, ...], expected: str
) -> None:
    model_source(dirs["src"], "MODEL_NAME=MyModel\nSERVICE_TYPE=MODEL\nPERSISTENCE=0\n")
    for name in files:
        (dirs["src"] / name).write_text("")
    result = script("assemble", base_env(dirs))
    assert result.returncode == 0, result.stderr
    assert pip_calls(dirs) == [f"install --no-cache-dir {expected}"]


def test_assemble_passes_index_settings_and_local_wheels(dirs: dict[str, Path]) -> None:
    model_source(dirs["src"], "MODEL_NAME=MyModel\nSERVICE_TYPE=MODEL\n")
    (dirs["src"] / "requirements.txt").write_text("numpy\n")
    wheels = dirs["tools"] / "wheels"
    wheels.mkdir()
    env = base_env(
        dirs,
        WHEEL_DIR=str(wheels),
        EXTRA_INDEX_URL="https://packages.example/simple",
        PIP_TRUSTED_HOST="packages.example mirror.example",
    )
    result = script("assemble", env)
    assert result.returncode == 0, result.stderr
    assert pip_calls(dirs) == [
        f"install --no-cache-dir --find-links {wheels} --extra-index-url "
        "https://packages.example/simple --trusted-host packages.example "
        "--trusted-host mirror.example -r requirements.txt"
    ]


def test_assemble_refuses_conda_environments(dirs: dict[str, Path]) -> None:
    model_source(dirs["src"], "MODEL_NAME=MyModel\nSERVICE_TYPE=MODEL\n")
    (dirs["src"] / "environment.yml").write_text("name: x\n")
    result = script("assemble", base_env(dirs))
    assert result.returncode == 1
    assert "environment.yml (conda) is not supported" in result.stderr


def test_assemble_restores_artifacts_and_a_failing_install_fails_the_build(
    dirs: dict[str, Path],
) -> None:
    model_source(dirs["src"], "MODEL_NAME=MyModel\nSERVICE_TYPE=MODEL\n")
    (dirs["src"] / "requirements.txt").write_text("numpy\n")
    dirs["artifacts"].mkdir()
    (dirs["artifacts"] / "cache.bin").write_text("kept")
    write_script(dirs["tools"] / "fake-pip", "#!/usr/bin/env bash\nexit 3\n")
    result = script("assemble", base_env(dirs))
    assert result.returncode == 3
    assert "restoring build artifacts" in result.stdout
    assert "installing requirements.txt" in result.stdout
    assert "is ready" not in result.stdout
    assert (dirs["microservice"] / "cache.bin").read_text() == "kept"


def test_assemble_help_prints_usage(dirs: dict[str, Path]) -> None:
    result = script("assemble", base_env(dirs), "-h")
    assert result.returncode == 0
    assert "s2i build" in result.stdout


# -- run -------------------------------------------------------------------------------------


def run_exec(dirs: dict[str, Path], env: dict[str, str], *args: str) -> dict[str, object]:
    """Start `run`; return what the fake server saw, checking it took over the script's process."""
    process = subprocess.Popen(
        [str(BIN / "run"), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stdout, stderr = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 0, stderr
    seen = json.loads(stdout.strip().splitlines()[-1])
    assert seen["pid"] == process.pid, "run must exec the server, not start a child"
    return seen


def test_run_execs_the_server_with_the_model_settings(dirs: dict[str, Path]) -> None:
    dirs["microservice"].mkdir()
    model_source(dirs["microservice"], "MODEL_NAME=MyModel\nSERVICE_TYPE=MODEL\nAPI_TYPE=REST\n")
    seen = run_exec(dirs, base_env(dirs))
    assert seen["argv"] == ["MyModel", "--service-type", "MODEL"]
    assert seen["cwd"] == str(dirs["microservice"])


def test_run_passes_persistence_when_set_and_extra_arguments(dirs: dict[str, Path]) -> None:
    dirs["microservice"].mkdir()
    env = base_env(dirs, MODEL_NAME="pkg.Model", SERVICE_TYPE="ROUTER", PERSISTENCE="1")
    seen = run_exec(dirs, env, "--workers", "2")
    expected = ["pkg.Model", "--service-type", "ROUTER", "--persistence", "1", "--workers", "2"]
    assert seen["argv"] == expected


def test_run_without_model_name_fails_clearly(dirs: dict[str, Path]) -> None:
    dirs["microservice"].mkdir()
    result = script("run", base_env(dirs, SERVICE_TYPE="MODEL"))
    assert result.returncode == 1
    assert "MODEL_NAME is not set" in result.stderr
    assert result.stdout == ""


def test_run_runs_before_run_first_and_stops_if_it_fails(dirs: dict[str, Path]) -> None:
    folder = dirs["microservice"]
    folder.mkdir()
    write_script(folder / "before-run", "#!/usr/bin/env bash\ntouch before-run.done\n")
    env = base_env(dirs, MODEL_NAME="MyModel", SERVICE_TYPE="MODEL")
    run_exec(dirs, env)
    assert (folder / "before-run.done").exists()
    write_script(folder / "before-run", "#!/usr/bin/env bash\nexit 4\n")
    result = script("run", env)
    assert result.returncode == 4
    assert '"argv"' not in result.stdout


# -- usage, save-artifacts, image files ------------------------------------------------------


def test_usage_prints_the_current_ports(dirs: dict[str, Path]) -> None:
    result = script("usage", base_env(dirs))
    assert result.returncode == 0
    for text in ("9000:9000", "5000:5000", "6000:6000", "localhost:9000/api/v1.0/predictions"):
        assert text in result.stdout


def test_save_artifacts_streams_an_empty_tar(dirs: dict[str, Path]) -> None:
    result = subprocess.run(
        [str(BIN / "save-artifacts")], env=base_env(dirs), capture_output=True, timeout=TIMEOUT
    )
    assert result.returncode == 0
    with tarfile.open(fileobj=BytesIO(result.stdout)) as archive:
        assert archive.getnames() == []


def test_scripts_are_executable_bash() -> None:
    for name in SCRIPTS:
        path = BIN / name
        assert os.access(path, os.X_OK), name
        assert path.read_text().startswith("#!/usr/bin/env bash\n")


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_scripts_pass_shellcheck() -> None:
    result = subprocess.run(
        ["shellcheck", *(str(BIN / name) for name in SCRIPTS)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == 0, result.stdout


def test_dockerfile_is_an_s2i_builder_running_as_8888() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for text in (
        "ARG BASE_IMAGE=python:3.11-slim",
        "FROM ${BASE_IMAGE}",
        'io.openshift.s2i.scripts-url="image:///s2i/bin"',
        "COPY s2i/bin /s2i/bin",
        "USER 8888",
        "EXPOSE 9000 5000 6000",
    ):
        assert text in dockerfile
    allowed = (ROOT / ".dockerignore").read_text().splitlines()
    for line in dockerfile.splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), source
                assert f"!{source.split('/')[0]}" in {a.rstrip("/") for a in allowed}, source


# -- the real server -------------------------------------------------------------------------


def answers_200(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def test_assembled_example_is_served_by_run(dirs: dict[str, Path]) -> None:
    shutil.copytree(ROOT / "examples" / "models" / "iris", dirs["src"], dirs_exist_ok=True)
    venv_bin = str(Path(sys.executable).parent)
    env = base_env(dirs, PATH=f"{venv_bin}:{os.environ.get('PATH', '/usr/bin:/bin')}")
    built = script("assemble", env)
    assert built.returncode == 0, built.stderr
    assert "IrisClassifier (MODEL) is ready" in built.stdout
    assert "warning" not in built.stdout
    assert (dirs["microservice"] / "IrisClassifier.py").is_file()
    del env["SELDON_MICROSERVICE_CMD"]
    held = HeldPorts(3)
    http_port, grpc_port, metrics_port = held.ports
    env.update(
        SELDON_BIND_ADDRESS="127.0.0.1",
        PREDICTIVE_UNIT_HTTP_SERVICE_PORT=str(http_port),
        PREDICTIVE_UNIT_GRPC_SERVICE_PORT=str(grpc_port),
        PREDICTIVE_UNIT_METRICS_SERVICE_PORT=str(metrics_port),
    )
    log_path = dirs["tools"] / "server.log"
    with log_path.open("wb") as log:
        process = spawn([str(BIN / "run")], env=env, stdout=log, stderr=log)
    try:

        def ready() -> bool:
            assert process.poll() is None, f"the server exited ({process.returncode})"
            return answers_200(f"http://127.0.0.1:{http_port}/ready")

        wait_until(ready, "the server to be ready", 60)
        held.release()
        request = urllib.request.Request(
            f"http://127.0.0.1:{http_port}/api/v1.0/predictions",
            data=b'{"data":{"ndarray":[[5.1,3.5,1.4,0.2]]}}',
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = json.loads(response.read())
        assert body["data"]["names"] == ["setosa", "versicolor", "virginica"]
        [probabilities] = body["data"]["ndarray"]
        assert probabilities.index(max(probabilities)) == 0  # a typical setosa
        # SIGTERM reaches the server itself, since run exec'd it.
        assert stop_group(process, signal.SIGTERM, TIMEOUT) == 0, log_path.read_text()
    finally:
        stop_group(process, signal.SIGKILL)
        held.release()
