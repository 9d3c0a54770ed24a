"""Path safety (issue 17, item 6): paths named inside configs stay inside the working directory's
tree or the naming file's tree unless `--allow-outside-paths` / ABM_ALLOW_OUTSIDE_PATHS=1, and no
message quotes the text of a file that did not parse into a config (docs/RELIABILITY.md)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from abm.config import ConfigError, load_config
from abm.config.loader import ALLOW_OUTSIDE_ENV, allow_outside_paths, home_tree
from abm.hindcast.record import load_record
from abm.runner import load_experiment
from abm.validation.cases import load_case

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "configs" / "baseline_jan2020.yaml"
SECRETS = ("hunter2", "s3cr3t-token", "/root:/bin/bash", "nologin")  # keys may be named; these may not
PASSWD_LIKE = {  # files a config might be pointed at; none of their text may reach a message
    "passwd": "root:x:0:0:hunter2:/root:/bin/bash\ndaemon:x:1:1:s3cr3t-token:/usr/sbin:/usr/sbin/nologin\n",
    "passwd with spaces (a mapping)": "root: x:0:0:hunter2:/root:/bin/bash\ndaemon: s3cr3t-token\n",
    "a tag handle": "password: !hunter2! s3cr3t-token\n",
    "a duplicated key": "hunter2: 1\nhunter2: 2\n",
    "a bad escape": 'token: "s3cr3t-token\\q hunter2"\n',
    "a bad date": "hunter2: 2020-13-01\n",
    "unknown keys only": "user: s3cr3t-token\nhome: /root:/bin/bash\n",
}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """cwd tmp/work; a project tmp/a/b/proj (its tree: tmp/a/b); a folder outside both: tmp/outside."""
    monkeypatch.delenv(ALLOW_OUTSIDE_ENV, raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    outside = write(tmp_path / "outside" / "baseline.yaml", BASELINE.read_text(encoding="utf-8"))
    proj = tmp_path / "a" / "b" / "proj"
    proj.mkdir(parents=True)
    return {"work": work, "proj": proj, "outside": outside, "tmp": tmp_path}


def refusal(call, *args) -> str:
    with pytest.raises(ConfigError) as info:
        call(*args)
    return str(info.value)


def test_extends_outside_both_trees_is_refused_naming_key_path_and_flag(layout) -> None:
    child = write(layout["proj"] / "child.yaml", f"extends: {layout['outside']}\nname: child\n")
    msg = refusal(load_config, child)
    assert "extends" in msg and str(layout["outside"]) in msg
    assert "outside the working directory" in msg and "--allow-outside-paths" in msg and ALLOW_OUTSIDE_ENV in msg
    relative = write(layout["proj"] / "rel.yaml", "extends: ../../../outside/baseline.yaml\n")
    assert "--allow-outside-paths" in refusal(load_config, relative)


def test_a_symlink_inside_the_tree_to_a_file_outside_is_refused(layout) -> None:
    (layout["proj"] / "base.yaml").symlink_to(layout["outside"])
    child = write(layout["proj"] / "child.yaml", "extends: base.yaml\n")
    assert "--allow-outside-paths" in refusal(load_config, child)


def test_the_flag_or_the_environment_lifts_the_rule(layout, monkeypatch) -> None:
    child = write(layout["proj"] / "child.yaml", f"extends: {layout['outside']}\nname: child\n")
    assert "--allow-outside-paths" in refusal(load_config, child)
    previous = allow_outside_paths(True)
    try:
        assert load_config(child).name == "child"
    finally:
        allow_outside_paths(previous)
    assert "--allow-outside-paths" in refusal(load_config, child)
    monkeypatch.setenv(ALLOW_OUTSIDE_ENV, "1")
    assert load_config(child).name == "child"


def test_inside_the_cwd_tree_or_one_folder_up_is_read_and_outside_refused(layout, monkeypatch) -> None:
    outside = write(layout["proj"] / "out.yaml", f"extends: {layout['outside']}\n")
    assert "--allow-outside-paths" in refusal(load_config, outside)
    # configs/history/*.yaml name ../baseline_jan2020.yaml: one folder up from the naming file's folder.
    base = write(layout["tmp"] / "a" / "b" / "shared" / "base.yaml", BASELINE.read_text(encoding="utf-8"))
    child = write(layout["proj"] / "child.yaml", "extends: ../shared/base.yaml\nname: up\n")
    assert load_config(child).name == "up"
    assert home_tree(child) == (layout["tmp"] / "a" / "b").resolve()
    monkeypatch.chdir(layout["tmp"])  # now everything is under the working directory
    far = write(layout["proj"] / "far.yaml", f"extends: {layout['outside']}\nname: far\n")
    assert load_config(far).name == "far" and base.is_file()
    # /tmp/x.yaml must not open the whole machine: its tree is /tmp, not /.
    assert home_tree(Path("/tmp/x.yaml")) == Path("/tmp").resolve()
    assert home_tree(Path("/tmp/proj/x.yaml")) == Path("/tmp/proj").resolve()
    assert home_tree(Path("/tmp/proj/sub/x.yaml")) == Path("/tmp/proj").resolve()


def test_the_text_of_a_file_that_is_not_a_config_never_appears(layout) -> None:
    for kind, text in PASSWD_LIKE.items():
        secret = write(layout["proj"] / "secret", text)
        child = write(layout["proj"] / "child.yaml", "extends: secret\nname: child\n")
        for path in (child, secret):  # through extends, and named directly
            msg = refusal(load_config, path)
            assert not [s for s in SECRETS if s in msg], (kind, msg)
        previous = allow_outside_paths(True)  # reached outside the trees, with the rule lifted
        try:
            far = write(layout["tmp"] / "outside" / "secret", text)
            msg = refusal(load_config, write(layout["proj"] / "far.yaml", f"extends: {far}\n"))
            assert not [s for s in SECRETS if s in msg], (kind, msg)
        finally:
            allow_outside_paths(previous)


def test_unknown_keys_are_named_truncated_and_capped_without_values(layout) -> None:
    keys = [f"key_{i}_{'x' * 60}" for i in range(8)]
    path = write(layout["proj"] / "many.yaml", "".join(f"{k}: value-{i}-s3cr3t\n" for i, k in enumerate(keys)))
    msg = refusal(load_config, path)
    assert "s3cr3t" not in msg and "value-" not in msg
    assert "key_0_" in msg and "key_5_" not in msg and "3 more" in msg and "x" * 60 not in msg


def test_an_experiment_config_outside_is_refused(layout) -> None:
    exp = write(
        layout["proj"] / "exp.yaml",
        f"name: e\nconfig: {layout['outside']}\nparameters: {{us.doctrine: [massive]}}\nruns: 2\n",
    )
    msg = refusal(load_experiment, exp)
    assert "config" in msg and str(layout["outside"]) in msg and "--allow-outside-paths" in msg


def test_a_record_scenario_or_link_outside_is_refused(layout) -> None:
    record = (ROOT / "configs" / "history" / "dec_2019.yaml").read_text(encoding="utf-8")
    linked = write(
        layout["proj"] / "jan_mar_2020.yaml", (ROOT / "configs" / "history" / "jan_mar_2020.yaml").read_text()
    )
    write(layout["tmp"] / "a" / "militia_lethal_trigger.yaml", "name: m\n")
    own = record.replace("../militia_lethal_trigger.yaml", str(layout["outside"]))
    msg = refusal(load_record, write(layout["proj"] / "scen.yaml", own))
    assert "scenario" in msg and "--allow-outside-paths" in msg
    link = record.replace("linked: [jan_mar_2020.yaml]", f"linked: [{layout['tmp'] / 'outside' / 'rec.yaml'}]")
    write(layout["tmp"] / "outside" / "rec.yaml", linked.read_text())
    msg = refusal(load_record, write(layout["proj"] / "link.yaml", link.replace("../militia", "../../militia")))
    assert "linked" in msg and "--allow-outside-paths" in msg


def test_a_case_scenario_outside_is_refused(layout) -> None:
    case = (ROOT / "configs" / "validation" / "p1_baseline_spiral_minority.yaml").read_text(encoding="utf-8")
    path = write(
        layout["proj"] / "case.yaml", case.replace("scenario: baseline_jan2020.yaml", f"scenario: {layout['outside']}")
    )
    msg = refusal(load_case, path, layout["proj"])
    assert "scenario" in msg and "--allow-outside-paths" in msg


def test_every_shipped_file_loads_from_another_working_directory(tmp_path, monkeypatch) -> None:
    """A guard, not a new behaviour: the rule keeps every shipped config, experiment, record and case
    working when abm runs from outside the checkout (they only name paths one folder up)."""
    from abm.validation.cases import load_cases

    monkeypatch.delenv(ALLOW_OUTSIDE_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    configs = ROOT / "configs"
    for path in [
        *configs.glob("*.yaml"),
        *(configs / "generic").glob("*.yaml"),
        *(configs / "examples").glob("*.yaml"),
    ]:
        load_config(path)
    for path in (ROOT / "experiments").glob("*.yaml"):
        load_experiment(path)
    for path in (configs / "history").glob("*.yaml"):
        assert load_record(path).scenario_path.is_file()
    assert len(load_cases(cases_dir=configs / "validation", configs_root=configs)) >= 20
