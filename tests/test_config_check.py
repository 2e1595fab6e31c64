"""``stance-run``'s overrides are checked before Hydra runs: one line, a suggestion, exit 2."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from stance.config_check import OverrideError, check_overrides, expand_user_paths
from stance.errors import StanceError
from tests.paths import CONF_DIR


def _error(*argv: str) -> str:
    with pytest.raises(OverrideError) as info:
        check_overrides(list(argv), CONF_DIR)
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("argv", "suggestion"),
    [
        (["modle=svm"], "did you mean model=svm?"),
        (["featurs=word_char"], "did you mean features=word_char?"),
        (["model=svn"], "did you mean model=svm?"),
        (["+selection=inner"], "did you mean +selection=inner_cv?"),
        (["model.CC=0.5"], "did you mean model.C=0.5?"),
        (["split.n_split=3"], "did you mean split.n_splits=3?"),
        (["data=file", "data.colums.text=body"], "did you mean data.columns.text=body?"),
        (["hydra/launcher=jobib"], "did you mean hydra/launcher=joblib?"),
        (["~tagg"], "did you mean ~tag?"),
        # every choice of a sweep is checked, not just the first
        (["-m", "model=logreg,svn"], "did you mean model=svm?"),
        (["-m", "model.c=interval(0.1,1)"], "did you mean model.C=interval(0.1,1)?"),
    ],
)
def test_typo_names_the_key_and_the_nearest_valid_one(argv, suggestion):
    message = _error(*argv)
    assert suggestion in message
    assert "Hydra" not in message and "HYDRA_FULL_ERROR" not in message


def test_unknown_key_is_not_fixed_by_plus_first():
    message = _error("modle=svm")
    assert message.index("did you mean model=svm?") < message.index("+modle=svm")


def test_key_of_another_group_option_lists_the_chosen_options_keys():
    message = _error("model.alpha=1")
    assert "model=logreg has no key 'alpha'" in message
    assert "C" in message.split("its keys:")[1]


def test_plus_on_an_existing_key():
    assert "model.C already exists; drop the '+'" in _error("+model.C=2")


@pytest.mark.parametrize(
    ("raw", "advice"),
    [
        ("data.path=foo(1).csv", "\"data.path='foo(1).csv'\""),
        ("data.path=[", "no viable alternative at input '['"),
        ("tag=a~b", "unexpected '~' at character 6"),
    ],
)
def test_value_the_grammar_rejects_gets_quoting_advice(raw, advice):
    message = _error(raw)
    assert f"cannot read the override '{raw}'" in message and advice in message


def test_valid_overrides_pass_unchanged():
    argv = [
        "-m",
        "model=logreg,svm",
        "features=tfidf,word_char",
        "+selection=inner_cv",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "data.filter={actor:Russia}",
        "data=file",
        "++tag=x",
    ]
    assert check_overrides(argv, CONF_DIR) == argv
    assert check_overrides(["--help", "modle=svm"], CONF_DIR) == ["--help", "modle=svm"]


def test_tilde_is_expanded_in_path_values(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    out = expand_user_paths(
        ["data.path=~/corpus.csv", "paths.output_dir=~", "data.path='~/my corpus.csv'", "tag=~x"]
    )
    assert out == [
        f"data.path={tmp_path}/corpus.csv",
        f"paths.output_dir={tmp_path}",
        f"data.path='{tmp_path}/my corpus.csv'",
        "tag=~x",
    ]
    assert issubclass(OverrideError, StanceError)


def _stance_run(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, STANCE_OUTPUT_DIR=str(tmp_path / "out"), HOME=str(tmp_path))
    return subprocess.run(
        ["stance-run", *argv], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )


def test_stance_run_typo_is_one_line_exit_2_and_no_run_directory(tmp_path):
    out = _stance_run(tmp_path, "modle=svm")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "stance: error: 'modle=svm': no config key or group 'modle'; did you mean model=svm? "
        "(to add a new key on purpose: +modle=svm)"
    ]
    assert not (tmp_path / "out").exists()


def test_stance_run_expands_tilde_in_data_path(tmp_path):
    out = _stance_run(tmp_path, "data=file", "data.path=~/corpus.csv", "--cfg", "job")
    assert out.returncode == 0, out.stderr
    assert f"path: {tmp_path}/corpus.csv" in out.stdout
