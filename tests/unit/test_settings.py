"""Settings: environment over .env over defaults; bad values stop the process naming the variable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from api import create_app
from workers.core.settings import ConfigurationError, Settings, load_settings

from ..stack import service_env


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("API_KEYS", "MODEL_NAME", "SERVED_MODEL_NAME", "TASK_TIME_LIMIT", "REDIS_URL", "MAX_NEW_TOKENS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env from the developer's checkout
    load_settings.cache_clear()


def test_defaults_match_the_documentation() -> None:
    settings = Settings()
    assert (settings.max_new_tokens, settings.temperature, settings.top_p) == (512, 0.7, 0.9)
    assert (settings.rate_limit_per_minute, settings.rate_limit_burst, settings.result_ttl) == (60, 10, 86_400)
    assert settings.model_id == "models/tiny-random-gpt2" and settings.api_port == 8000


def test_environment_overrides_dotenv_which_overrides_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("MODEL_NAME=from-dotenv\nTASK_TIME_LIMIT=30\n")
    monkeypatch.setenv("TASK_TIME_LIMIT", "7.5")
    settings = Settings()
    assert settings.model_name == "from-dotenv"  # .env over the default
    assert settings.task_time_limit == 7.5  # environment over .env
    assert settings.temperature == 0.7  # default where neither says


def test_served_model_name_names_the_model_and_empty_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODEL_NAME", "org/model")
    monkeypatch.setenv("SERVED_MODEL_NAME", "")
    assert Settings().model_id == "org/model"
    monkeypatch.setenv("SERVED_MODEL_NAME", "short")
    assert Settings().model_id == "short"


@pytest.mark.parametrize(
    ("name", "value"),
    [("TASK_TIME_LIMIT", "-1"), ("REDIS_URL", "localhost:6379"), ("API_PORT", "eighty"), ("LOG_LEVEL", "LOUD")],
)
def test_bad_value_stops_with_the_variables_name(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=name):
        load_settings()


def test_inconsistent_token_limits_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_NEW_TOKENS", "4096")
    with pytest.raises(ConfigurationError, match="MAX_NEW_TOKENS must not exceed MAX_TOKENS_LIMIT"):
        load_settings()


def test_api_without_keys_refuses_to_start_and_never_echoes_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="API_KEYS"):
        create_app(Settings())
    monkeypatch.setenv("API_KEYS", "secret-key-1")
    monkeypatch.setenv("MAX_NEW_TOKENS", "99999")
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert "secret-key-1" not in str(raised.value)


def test_worker_process_exits_naming_the_bad_variable(tmp_path: Path) -> None:
    env = service_env(TASK_TIME_LIMIT="soon")
    run = subprocess.run([sys.executable, "-m", "workers"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode != 0 and "TASK_TIME_LIMIT" in run.stderr


def test_env_example_lists_every_setting_with_a_valid_value(monkeypatch: pytest.MonkeyPatch) -> None:
    example = Path(__file__).resolve().parents[2] / ".env.example"
    listed = dict(line.split("=", 1) for line in example.read_text().splitlines() if line and not line.startswith("#"))
    assert set(listed) == {name.upper() for name in Settings.model_fields}
    for name, value in listed.items():
        monkeypatch.setenv(name, value)
    assert Settings().api_key_list == ["test-key-123", "demo-key-456"]
