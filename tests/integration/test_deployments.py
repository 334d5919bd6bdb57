"""The nightly label and on-demand retrain deployments, from params.yaml and prefect.yaml."""

import importlib
from pathlib import Path

import yaml
from prefect.flows import load_flow_from_entrypoint

from ethoflow.config import load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_deployments_register_with_the_configured_cron(tmp_path, prefect_harness):
    from prefect.client.orchestration import get_client

    from ethoflow.mlops.deployments import build_deployments

    params = tmp_path / "params.yaml"
    params.write_text('label: {cron: "30 3 * * 1-5", timezone: Europe/Berlin}\n')
    settings = load_settings(params)
    ids = [deployment.apply() for deployment in build_deployments(settings, params)]
    assert len(ids) == 2

    with get_client(sync_client=True) as client:
        nightly = client.read_deployment_by_name("label/nightly")
        retrain = client.read_deployment_by_name("retrain/on-demand")
    [schedule] = nightly.schedules
    assert schedule.schedule.cron == "30 3 * * 1-5"
    assert schedule.schedule.timezone == "Europe/Berlin"
    assert schedule.active
    assert nightly.parameters == {"params": str(params.resolve())}
    assert not retrain.schedules and retrain.parameters == {"params": str(params.resolve())}


def test_prefect_yaml_matches_params_and_flows():
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    settings = load_settings(ROOT / "params.yaml")
    by_name = {d["name"]: d for d in spec["deployments"]}
    [schedule] = by_name["nightly"]["schedules"]
    assert schedule["cron"] == settings.label.cron
    assert schedule["timezone"] == settings.label.timezone
    for deployment, flow_name in (("nightly", "label"), ("on-demand", "retrain")):
        entrypoint = by_name[deployment]["entrypoint"]
        path, function = entrypoint.split(":")
        assert path.startswith("flows/") and (ROOT / path).is_file()
        # The installed package and the file a worker loads are the same flow.
        module = "ethoflow." + ".".join(Path(path).with_suffix("").parts)
        assert getattr(importlib.import_module(module), function).name == flow_name
        assert load_flow_from_entrypoint(str(ROOT / entrypoint)).name == flow_name
