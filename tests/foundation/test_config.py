"""Config: TOML + environment, one-line errors naming the key, and every setting documented."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from pydantic import BaseModel

from gatewayd.config import ConfigError, Settings, load_settings

EXAMPLE = Path(__file__).parents[2] / "config" / "gatewayd.example.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gatewayd.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[http]\nprot = 8080\n', "http.prot: unknown key"),
        ('[bogus]\nx = 1\n', "bogus: unknown key"),
        ('[http]\nport = "eighty"\n', "http.port: "),
        ('[http]\nport = 70000\n', "http.port: "),
        ('[[modems]]\nname = "a"\nport = "ttyUSB0"\n', "modems.0.port: 'ttyUSB0' is not an absolute device path"),
        ('[[modems]]\nname = "a"\n', "modems.0.port: required key is missing"),
        ('[[modems]]\nname = "a"\nport = "/dev/ttyUSB0"\n[[modems]]\nname = "a"\nport = "/dev/ttyUSB1"\n',
         "modems: duplicate modem name 'a'"),
        ('[[modems]]\nname = "a"\nport = "/dev/x"\npin = "12ab"\n', "modems.0.pin: "),
        ('[sending]\ndefault_region = "ZZ"\n', "sending.default_region: unknown region 'ZZ'"),
        ('[site]\ntimezone = "Mars/Olympus"\n', "site.timezone: unknown time zone"),
        ('[http\n', "is not valid TOML"),
    ],
)
def test_bad_config_names_the_key_and_problem(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text))
    message = str(info.value)
    assert expected in message
    assert "\n" not in message


def test_missing_file_is_explained(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml")


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAYD_HTTP__PORT", "9191")
    monkeypatch.setenv("GATEWAYD_SENDING__DEFAULT_REGION", "be")
    settings = load_settings(write(tmp_path, '[http]\nhost = "127.0.0.2"\nport = 7000\n'))
    assert settings.http.port == 9191
    assert settings.http.host == "127.0.0.2"  # the rest of the section still comes from the file
    assert settings.sending.default_region == "BE"


def test_bad_environment_value_names_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAYD_HTTP__PORT", "nope")
    with pytest.raises(ConfigError, match=r"http\.port"):
        load_settings(write(tmp_path, ""))


def test_an_environment_variable_for_a_section_that_does_not_exist_is_an_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAYD_HTPP__PORT", "9191")  # a typo must not be silently ignored
    monkeypatch.setenv("GATEWAYD_HOME", str(tmp_path))   # not a setting: no "__"
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, ""))
    assert "GATEWAYD_HTPP__PORT" in str(info.value) and "[htpp]" in str(info.value)
    assert "\n" not in str(info.value)


def test_a_malformed_gatewayd_modems_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "GATEWAYD_HOME": str(tmp_path), "GATEWAYD_MODEMS": '[{"name": "a"'}
    result = subprocess.run([sys.executable, "-m", "gatewayd", "apikey", "create", "x"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "GATEWAYD_MODEMS is not valid JSON" in result.stderr


def test_apikey_create_says_which_database_it_writes_to(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "GATEWAYD_HOME": str(tmp_path)}
    config = write(tmp_path, f'[storage]\ndatabase = "{tmp_path / "box.db"}"\n')
    result = subprocess.run([sys.executable, "-m", "gatewayd", "apikey", "create", "x", "--config", str(config)],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert f"stored in {tmp_path / 'box.db'}" in result.stdout
    assert "demo database" not in result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith("gw_")  # still alone on the last line


def test_embedded_default_keeps_data_under_gatewayd_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAYD_HOME", str(tmp_path / "home"))
    monkeypatch.setattr("gatewayd.config.DEFAULT_CONFIG_PATH", tmp_path / "absent.toml")
    settings = load_settings(None, simulate=3)
    assert settings.storage.database == tmp_path / "home" / "gatewayd.db"
    assert settings.http.host == "127.0.0.1" and settings.http.port == 8080
    assert settings.simulator.lines == 3


def _documented_keys(model: type[BaseModel], data: object, prefix: str) -> list[str]:
    """Keys of `model` missing from the parsed example `data` (recursing into sections)."""
    missing = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            section = data.get(name) if isinstance(data, dict) else None
            if section is None:
                missing.append(path)
            else:
                missing += _documented_keys(annotation, section, path + ".")
        elif name == "modems":
            entries = data.get("modems") if isinstance(data, dict) else None
            from gatewayd.config import ModemSettings

            if not entries:
                missing.append(path)
            else:
                # Every key appears in the example modem, commented out (optional secrets) or not.
                text = EXAMPLE.read_text(encoding="utf-8")
                missing += [f"modems.{k}" for k in ModemSettings.model_fields
                            if k not in entries[0] and f"# {k} =" not in text]
        elif not isinstance(data, dict) or name not in data:
            # Optional settings without a default value are documented commented out.
            if f"# {name} =" not in EXAMPLE.read_text(encoding="utf-8"):
                missing.append(path)
    return missing


def test_every_setting_is_documented_in_the_example() -> None:
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert _documented_keys(Settings, data, "") == []


def test_the_example_is_a_valid_configuration() -> None:
    settings = load_settings(EXAMPLE)
    assert settings.modems and settings.modems[0].name == "line1"


def test_run_with_bad_config_exits_2_with_one_line(tmp_path: Path) -> None:
    bad = write(tmp_path, '[http]\nport = "x"\n')
    proc = subprocess.run([sys.executable, "-m", "gatewayd", "run", "--config", str(bad)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "http.port" in lines[0]


def test_a_pin_comes_from_a_file_or_a_systemd_credential(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pin = tmp_path / "line1.pin"
    pin.write_text("4321\n")
    modem = '[[modems]]\nname = "line1"\nport = "/dev/ttyUSB2"\n'
    settings = load_settings(write(tmp_path, modem + f'pin_file = "{pin}"\n'))
    assert settings.modems[0].pin == "4321"
    # A credential name: found in the directory systemd hands the service (LoadCredential=).
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "line1-pin").write_text("9876")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))
    assert load_settings(write(tmp_path, modem + 'pin_file = "line1-pin"\n')).modems[0].pin == "9876"
    # Outside the service (admin commands) the credential is absent and not needed.
    monkeypatch.delenv("CREDENTIALS_DIRECTORY")
    assert load_settings(write(tmp_path, modem + 'pin_file = "line1-pin"\n')).modems[0].pin is None


@pytest.mark.parametrize(("extra", "expected"), [
    ('pin = "1234"\npin_file = "/x"\n', "pin or pin_file, not both"),
    ('pin_file = "/nonexistent/line1.pin"\n', "cannot read /nonexistent/line1.pin"),
    ('pin_file = "../line1.pin"\n', "neither an absolute path nor a credential name"),
    ('pin = "12ab9"\n', "modems.0.pin: "),
])
def test_a_bad_pin_file_is_one_line(tmp_path: Path, extra: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, '[[modems]]\nname = "line1"\nport = "/dev/ttyUSB2"\n' + extra))
    assert expected in str(info.value) and "\n" not in str(info.value)
    assert "12ab9" not in str(info.value)  # a PIN, even a wrong one, is never echoed
