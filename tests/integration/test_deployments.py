"""The nightly label and on-demand retrain deployments, built from params.yaml alone."""

import subprocess
from pathlib import Path

import yaml
from prefect.flows import load_flow_from_entrypoint
from prefect.utilities.callables import parameter_schema

from ethoflow.config import load_settings

ROOT = Path(__file__).resolve().parents[2]
PARAMS = """\
label: {cron: "30 3 * * 1-5", timezone: Europe/Berlin}
train: {heads: [rearing], n_trials: 3, max_epochs: 7, patience: 2}
"""


def test_deployments_register_with_the_configured_cron_and_budget(tmp_path, prefect_harness):
    from prefect.client.orchestration import get_client

    from ethoflow.mlops.deployments import build_deployments

    params = tmp_path / "params.yaml"
    params.write_text(PARAMS)
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
    assert not retrain.schedules
    # The retrain form starts from params.yaml's budget.
    assert retrain.parameters == {
        "params": str(params.resolve()),
        "budget": {
            "heads": ["rearing"],
            "architectures": ["lstm", "bilstm", "tcn", "transformer"],
            "n_trials": 3,
            "max_epochs": 7,
            "patience": 2,
        },
    }
    # Module entrypoints: a worker loads the installed flows whatever its folder.
    for deployment, flow_name in ((nightly, "label"), (retrain, "retrain")):
        assert deployment.entrypoint.startswith("ethoflow.flows.")
        assert load_flow_from_entrypoint(deployment.entrypoint).name == flow_name


def test_the_retrain_form_shows_choices_bounds_and_defaults(tmp_path, prefect_harness):
    """The deployment's parameter schema, from which the Prefect UI draws its form: every
    budget field typed, with its choices or bounds and a default (none "type None")."""
    from prefect.client.orchestration import get_client

    from ethoflow.flows.retrain import retrain_flow
    from ethoflow.mlops.deployments import build_deployments

    params = tmp_path / "params.yaml"
    params.write_text(PARAMS)
    build_deployments(load_settings(params), params)[1].apply()
    with get_client(sync_client=True) as client:
        schema = client.read_deployment_by_name("retrain/on-demand").parameter_openapi_schema
    assert schema == parameter_schema(retrain_flow).model_dump(exclude_unset=True)
    assert set(schema["properties"]) == {"params", "budget"}
    assert schema["properties"]["budget"]["$ref"] == "#/definitions/TrainingBudget"
    fields = schema["definitions"]["TrainingBudget"]["properties"]
    assert fields["heads"]["items"]["enum"] == ["grooming", "rearing"]
    assert fields["architectures"]["items"]["enum"] == ["lstm", "bilstm", "tcn", "transformer"]
    for name in ("heads", "architectures"):
        assert fields[name]["type"] == "array" and fields[name]["minItems"] == 1
    for name in ("n_trials", "max_epochs", "patience"):
        assert fields[name]["type"] == "integer", name
        assert fields[name]["minimum"] == 1 and fields[name]["maximum"] >= 100, name
    for field in fields.values():
        assert "default" in field and "anyOf" not in field and field["description"]


def test_deploy_registers_both_on_the_work_pool(tmp_path, prefect_harness):
    """`ethoflow deploy`, as the lab server's worker runs it: the same deployments, on its pool."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    from ethoflow.mlops.deployments import deploy

    params = tmp_path / "params.yaml"
    params.write_text(PARAMS)
    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name="lab", type="process"), overwrite=True)
    names = deploy(load_settings(params), params, "lab")
    assert names == ["label/nightly", "retrain/on-demand"]
    with get_client(sync_client=True) as client:
        nightly = client.read_deployment_by_name("label/nightly")
        retrain = client.read_deployment_by_name("retrain/on-demand")
    assert nightly.work_pool_name == retrain.work_pool_name == "lab"
    assert nightly.schedules[0].schedule.cron == "30 3 * * 1-5"


def test_the_workers_take_their_deployments_and_cron_from_params_only():
    """params.yaml's label.cron is the one schedule: no prefect.yaml declares deployments of
    its own, and the lab server's workers (make, compose) register them with `ethoflow deploy`."""
    assert not (ROOT / "prefect.yaml").exists()
    make = subprocess.run(
        ["make", "-n", "prefect-worker"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    compose = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
    worker = compose["services"]["prefect-worker"]["command"][-1]
    for script in (make, worker):
        assert "ethoflow deploy --pool ethoflow" in script
        assert "prefect deploy" not in script and "--cron" not in script
