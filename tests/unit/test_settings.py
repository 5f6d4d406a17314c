"""Settings: environment over .env over defaults; bad values stop the process naming the variable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from api.app import create_app
from api.settings import ApiSettings
from contract.settings import ConfigurationError, load_settings
from workers.settings import WorkerSettings

from ..support.stack import SETTING_NAMES, service_env


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env from the developer's checkout
    load_settings.cache_clear()


def test_defaults_match_the_documentation() -> None:
    settings = ApiSettings()
    assert (settings.max_new_tokens, settings.temperature, settings.top_p) == (512, 0.7, 0.9)
    assert (settings.rate_limit_per_minute, settings.rate_limit_burst, settings.result_ttl) == (60, 10, 86_400)
    assert settings.model_id == "models/tiny-random-gpt2" and settings.api_port == 8000
    assert WorkerSettings().model_id == settings.model_id


def test_environment_overrides_dotenv_which_overrides_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("MODEL_NAME=from-dotenv\nTASK_TIME_LIMIT=30\n")
    monkeypatch.setenv("TASK_TIME_LIMIT", "7.5")
    settings = WorkerSettings()
    assert settings.model_name == "from-dotenv"  # .env over the default
    assert settings.task_time_limit == 7.5  # environment over .env
    assert settings.max_batch_size == 32  # default where neither says


def test_served_model_name_names_the_model_and_empty_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODEL_NAME", "org/model")
    monkeypatch.setenv("SERVED_MODEL_NAME", "")
    assert ApiSettings().model_id == "org/model"
    monkeypatch.setenv("SERVED_MODEL_NAME", "short")
    assert ApiSettings().model_id == "short"


def test_ollama_model_is_another_name_for_model_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODEL_BACKEND", "ollama")
    monkeypatch.setenv("OLLAMA_MODEL", "llama2")
    assert WorkerSettings().model_id == ApiSettings().model_id == "llama2"
    monkeypatch.setenv("MODEL_NAME", "mistral")
    assert WorkerSettings().model_name == "mistral"  # MODEL_NAME wins when both are set


@pytest.mark.parametrize(
    ("kind", "name", "value"),
    [
        (WorkerSettings, "TASK_TIME_LIMIT", "-1"),
        (ApiSettings, "REDIS_URL", "localhost:6379"),
        (ApiSettings, "API_PORT", "eighty"),
        (WorkerSettings, "LOG_LEVEL", "LOUD"),
    ],
)
def test_bad_value_stops_with_the_variables_name(
    monkeypatch: pytest.MonkeyPatch, kind: type[ApiSettings | WorkerSettings], name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=name):
        load_settings(kind)


def test_each_part_reads_only_its_own_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    # A worker setting that is wrong does not stop the api, and the other way round.
    monkeypatch.setenv("TASK_TIME_LIMIT", "soon")
    monkeypatch.setenv("API_PORT", "eighty")
    assert load_settings(ApiSettings.__base__).redis_url  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="API_PORT"):
        load_settings(ApiSettings)
    with pytest.raises(ConfigurationError, match="TASK_TIME_LIMIT"):
        load_settings(WorkerSettings)
    assert "task_time_limit" not in ApiSettings.model_fields and "api_port" not in WorkerSettings.model_fields


def test_inconsistent_token_limits_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_NEW_TOKENS", "4096")
    with pytest.raises(ConfigurationError, match="MAX_NEW_TOKENS must not exceed MAX_TOKENS_LIMIT"):
        load_settings(ApiSettings)


def test_api_without_keys_refuses_to_start_and_never_echoes_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="API_KEYS"):
        create_app(ApiSettings())
    monkeypatch.setenv("API_KEYS", "secret-key-1")
    monkeypatch.setenv("MAX_NEW_TOKENS", "99999")
    with pytest.raises(ConfigurationError) as raised:
        load_settings(ApiSettings)
    assert "secret-key-1" not in str(raised.value)


def test_worker_process_exits_naming_the_bad_variable(tmp_path: Path) -> None:
    env = service_env(TASK_TIME_LIMIT="soon")
    run = subprocess.run([sys.executable, "-m", "workers"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode != 0 and "TASK_TIME_LIMIT" in run.stderr


def test_operator_exits_naming_the_bad_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from llm_operator.config import load_config

    load_config.cache_clear()
    monkeypatch.setenv("OPERATOR_SCALE_INTERVAL", "-3")
    with pytest.raises(SystemExit, match="OPERATOR_SCALE_INTERVAL"):
        load_config()
    load_config.cache_clear()


def test_env_example_lists_every_setting_with_a_valid_value(monkeypatch: pytest.MonkeyPatch) -> None:
    example = Path(__file__).resolve().parents[2] / ".env.example"
    listed = dict(line.split("=", 1) for line in example.read_text().splitlines() if line and not line.startswith("#"))
    assert set(listed) == {name.upper() for kind in (ApiSettings, WorkerSettings) for name in kind.model_fields}
    for name, value in listed.items():
        monkeypatch.setenv(name, value)
    assert ApiSettings().api_key_list == ["test-key-123", "demo-key-456"]
    assert WorkerSettings().task_time_limit == 120
