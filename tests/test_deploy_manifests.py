"""The deploy/ manifests: valid for their schemas and consistent with the server and each other.

Built-in kinds are checked with kubernetes-validate against one Kubernetes version in strict mode
(unknown fields fail). SeldonDeployments and KEDA ScaledObjects are checked against their CRDs'
openAPIV3Schema vendored in tests/testdata (see the headers there), closed the way `kubectl apply`'s
strict field validation closes them. Argo Workflows have no schema worth vendoring, so they are
checked structurally, with their containers validated as Kubernetes Containers. Every model
container's configuration is resolved by the server's own `settings.resolve`, and every batch
container's by the batch processor's, so a manifest the server would refuse fails here.
"""

from __future__ import annotations

import copy
import fnmatch
import importlib.util
import inspect
import json
import re
import shlex
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from referencing import Registry, Resource

from seldon_server.batch import config as batch_config
from seldon_server.model.loader import parse_parameters
from seldon_server.settings import OPTIONS, Settings, resolve

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
TESTDATA = Path(__file__).resolve().parent / "testdata"
IRIS = ROOT / "examples" / "models" / "iris"

K8S_VERSION = "1.30.0"  # the Kubernetes release whose schemas the manifests must satisfy
K8S_DEFINITIONS = "https://kubernetes.io/api/_definitions.json#/$defs/"
SDEP_API = "machinelearning.seldon.io/v1"
KEDA_API = "keda.sh/v1alpha1"
ARGO_API = "argoproj.io/v1alpha1"
CUSTOM_APIS = {SDEP_API: "SeldonDeployment", KEDA_API: "ScaledObject", ARGO_API: "Workflow"}

MODEL_IMAGE = "iris-model:"  # images built from examples/models/iris
BATCH_COMMAND = "seldon-batch-processor"
IMAGE_USER = 8888  # the Dockerfile's USER

# What the Seldon operator puts in a model container's env besides the graph's parameters.
OPERATOR_PORTS = {
    "PREDICTIVE_UNIT_HTTP_SERVICE_PORT": "9000",
    "PREDICTIVE_UNIT_GRPC_SERVICE_PORT": "9500",
    "PREDICTIVE_UNIT_METRICS_SERVICE_PORT": "6000",
    "PREDICTIVE_UNIT_METRICS_ENDPOINT": "/prometheus",
}
# Env vars of a model container that are not server options: read by the image's s2i scripts.
S2I_ENV = {"MODEL_NAME", "EXTRA_INDEX_URL", "PIP_TRUSTED_HOST"}
# The Seldon executor's Kafka settings (svcOrchSpec.env with `serverType: kafka`).
EXECUTOR_KAFKA_ENV = {
    "KAFKA_BROKER", "KAFKA_INPUT_TOPIC", "KAFKA_OUTPUT_TOPIC", "KAFKA_FULL_GRAPH", "KAFKA_WORKERS",
    "KAFKA_AUTO_COMMIT", "KAFKA_SECURITY_PROTOCOL", "KAFKA_SSL_CA_CERT", "KAFKA_SSL_CLIENT_CERT",
    "KAFKA_SSL_CLIENT_KEY", "KAFKA_SSL_CA_CERT_FILE", "KAFKA_SSL_CLIENT_CERT_FILE",
    "KAFKA_SSL_CLIENT_KEY_FILE", "KAFKA_SSL_CLIENT_KEY_PASS", "KAFKA_SASL_USERNAME",
    "KAFKA_SASL_PASSWORD", "KAFKA_SASL_MECHANISM",
}  # fmt: skip
SERVER_ENV = {name for opt in OPTIONS for name in opt.env}
BATCH_ENV = {opt.env for opt in batch_config.OPTIONS} | {"JOB_COMPLETION_INDEX"}


# --- the documents ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Doc:
    """One YAML document of a file under deploy/."""

    path: Path
    index: int
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body["kind"])

    @property
    def name(self) -> str:
        meta = self.body["metadata"]
        return str(meta.get("name") or meta["generateName"])

    def __str__(self) -> str:
        return f"{self.path.relative_to(DEPLOY)}#{self.index}:{self.kind}/{self.name}"


def load_docs() -> list[Doc]:
    paths = sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml")])
    docs = []
    for path in paths:
        for index, body in enumerate(yaml.safe_load_all(path.read_text(encoding="utf-8"))):
            if body is not None:
                docs.append(Doc(path, index, body))
    return docs


DOCS = load_docs()


def of_kind(kind: str) -> list[Doc]:
    return [doc for doc in DOCS if doc.kind == kind]


def only(kind: str, name: str) -> Doc:
    (doc,) = [doc for doc in of_kind(kind) if doc.name == name]
    return doc


def ids(docs: list[Doc]) -> list[str]:
    return [str(doc) for doc in docs]


def builtin(doc: Doc) -> bool:
    return doc.body["apiVersion"] not in CUSTOM_APIS


# --- pods, containers and what the server makes of them -----------------------------------------


@dataclass(frozen=True)
class Pod:
    """A pod spec in a manifest, with what the Seldon operator would add to its env."""

    where: str
    kind: str  # of the manifest it is in
    spec: dict[str, Any]
    operator_env: Mapping[str, Mapping[str, str]]  # container name -> env the operator sets
    annotations: Mapping[str, str]  # as the downward-API annotations file would list them

    def __str__(self) -> str:
        return self.where


def graph_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("children", []):
        yield from graph_nodes(child)


def sdep_pods(doc: Doc) -> Iterator[Pod]:
    """The pods of a SeldonDeployment, with the env the operator gives each graph node."""
    spec = doc.body["spec"]
    for predictor in spec["predictors"]:
        nodes = {node["name"]: node for node in graph_nodes(predictor["graph"])}
        annotations = {**spec.get("annotations", {}), **predictor.get("annotations", {})}
        for number, component in enumerate(predictor.get("componentSpecs", [])):
            env = {}
            for container in component["spec"]["containers"]:
                node = nodes.get(container["name"])
                if node is not None:
                    env[container["name"]] = {
                        **OPERATOR_PORTS,
                        "PREDICTIVE_UNIT_PARAMETERS": json.dumps(node.get("parameters", [])),
                        "PREDICTIVE_UNIT_ID": node["name"],
                        "PREDICTIVE_UNIT_IMAGE": container["image"],
                        "PREDICTOR_ID": predictor["name"],
                        "PREDICTOR_LABELS": json.dumps(predictor.get("labels", {})),
                        "SELDON_DEPLOYMENT_ID": doc.name,
                        "SELDON_EXECUTOR_ENABLED": "true",
                    }
            where = f"{doc} {predictor['name']}[{number}]"
            yield Pod(where, doc.kind, component["spec"], env, annotations)


def pods() -> list[Pod]:
    found: list[Pod] = []
    for doc in DOCS:
        if doc.kind in ("Deployment", "Job"):
            found.append(Pod(str(doc), doc.kind, doc.body["spec"]["template"]["spec"], {}, {}))
        elif doc.kind == "Pod":
            found.append(Pod(str(doc), doc.kind, doc.body["spec"], {}, {}))
        elif doc.kind == "SeldonDeployment":
            found.extend(sdep_pods(doc))
    return found


def workflow_pods() -> list[Pod]:
    """Each Argo container template as the pod Argo makes of it (security context, volumes)."""
    found = []
    for doc in of_kind("Workflow"):
        spec = doc.body["spec"]
        for template in spec["templates"]:
            if "container" in template:
                pod = {
                    "securityContext": spec.get("securityContext", {}),
                    "volumes": spec.get("volumes", []),
                    "containers": [{"name": "main", **template["container"]}],
                }
                found.append(Pod(f"{doc} template {template['name']}", doc.kind, pod, {}, {}))
    return found


PODS = pods()
ALL_PODS = PODS + workflow_pods()


def is_model(container: Mapping[str, Any]) -> bool:
    return str(container["image"]).startswith(MODEL_IMAGE)


def is_batch(container: Mapping[str, Any]) -> bool:
    command = [*container.get("command", []), *container.get("args", [])]
    return any(BATCH_COMMAND in part for part in command)


def model_containers() -> list[tuple[Pod, dict[str, Any]]]:
    return [(pod, c) for pod in PODS for c in pod.spec["containers"] if is_model(c)]


def model_pods() -> list[Pod]:
    return [pod for pod in PODS if any(is_model(c) for c in pod.spec["containers"])]


def literal_env(container: Mapping[str, Any]) -> dict[str, str]:
    """The container's env vars that have a literal value (valueFrom ones are skipped)."""
    return {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}


def s2i_environment() -> dict[str, str]:
    lines = (IRIS / ".s2i" / "environment").read_text(encoding="utf-8").splitlines()
    pairs = [line.split("=", 1) for line in lines if "=" in line and not line.startswith("#")]
    return {key.strip(): value.strip() for key, value in pairs}


def server_settings(pod: Pod, container: Mapping[str, Any]) -> Settings:
    """What `seldon-microservice` resolves in this container: the image's run script starts it as
    `seldon-microservice $MODEL_NAME --service-type $SERVICE_TYPE [--persistence N] ARGS...`."""
    assert "command" not in container, f"{pod}: the image's run script must stay the command"
    s2i = s2i_environment()
    argv = [s2i["MODEL_NAME"], "--service-type", s2i["SERVICE_TYPE"]]
    if s2i.get("PERSISTENCE"):
        argv += ["--persistence", s2i["PERSISTENCE"]]
    env = {**pod.operator_env.get(container["name"], {}), **literal_env(container)}
    return resolve([*argv, *container.get("args", [])], env, lambda _path: pod.annotations)


@cache
def iris_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("deploy_iris_model", IRIS / "IrisClassifier.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def container_port(container: Mapping[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    (number,) = [p["containerPort"] for p in container.get("ports", []) if p.get("name") == port]
    return int(number)


def prestop_sleep(container: Mapping[str, Any]) -> float:
    """Seconds a preStop hook sleeps before the container gets SIGTERM."""
    pre_stop = container.get("lifecycle", {}).get("preStop", {})
    if "sleep" in pre_stop:
        return float(pre_stop["sleep"]["seconds"])
    command = pre_stop.get("exec", {}).get("command", [])
    if not command:
        return 0.0
    match = re.fullmatch(r"(?:/bin/)?sleep (\d+(?:\.\d+)?)", " ".join(command[-2:]))
    assert match, f"preStop {command} is not a plain sleep"
    return float(match.group(1))


# --- schemas ---------------------------------------------------------------------------------


def closed(schema: Any) -> Any:
    """A CRD schema as `kubectl apply` (strict field validation) applies it: an object that lists
    its properties rejects others unless it preserves unknown fields; `nullable` allows null."""
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    if "properties" in schema:
        out["properties"] = {key: closed(sub) for key, sub in schema["properties"].items()}
        if "additionalProperties" not in schema and not schema.get(
            "x-kubernetes-preserve-unknown-fields"
        ):
            out["additionalProperties"] = False
    for key in ("items", "additionalProperties", "not"):
        if isinstance(schema.get(key), dict):
            out[key] = closed(schema[key])
    for key in ("anyOf", "allOf", "oneOf"):
        if key in schema:
            out[key] = [closed(sub) for sub in schema[key]]
    if schema.get("nullable") is True and isinstance(schema.get("type"), str):
        out["type"] = [schema["type"], "null"]
    return out


@cache
def registry() -> Registry[Any]:
    """The Kubernetes definitions (strict variant) of K8S_VERSION, for `$ref`s into them."""
    folder = resources.files("kubernetes_validate") / "kubernetes-json-schema"
    text = (folder / f"v{K8S_VERSION}-local-strict" / "_definitions.json").read_text("utf-8")
    definitions: Resource[Any] = Resource.from_contents(json.loads(text))
    return definitions @ Registry()


def k8s_type_validator(name: str) -> jsonschema.protocols.Validator:
    """A validator for one Kubernetes type, e.g. io.k8s.api.core.v1.Container."""
    return jsonschema.Draft202012Validator({"$ref": K8S_DEFINITIONS + name}, registry=registry())


@cache
def crd_validator(filename: str) -> jsonschema.protocols.Validator:
    schema = closed(yaml.safe_load((TESTDATA / filename).read_text(encoding="utf-8")))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, registry=registry())


CRD_SCHEMAS = {
    SDEP_API: "seldondeployment_v1_openapiv3schema.yaml",
    KEDA_API: "keda_scaledobject_v1alpha1_openapiv3schema.yaml",
}


def validate_custom(body: dict[str, Any]) -> None:
    """Validate a SeldonDeployment or ScaledObject like the API server: CRD schema and metadata."""
    crd_validator(CRD_SCHEMAS[body["apiVersion"]]).validate(body)
    k8s_type_validator("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta").validate(body["metadata"])


def validate_builtin(body: dict[str, Any]) -> None:
    kubernetes_validate.validate(body, K8S_VERSION, strict=True)


# --- schema validation -----------------------------------------------------------------------


def test_every_document_is_a_known_kind() -> None:
    assert DOCS, "no manifests under deploy/"
    for doc in DOCS:
        api = doc.body["apiVersion"]
        assert api not in CUSTOM_APIS or CUSTOM_APIS[api] == doc.kind, f"{doc}: {api}"
        assert doc.body["metadata"].get("name") or doc.body["metadata"].get("generateName")


def test_kubernetes_version_is_supported() -> None:
    assert K8S_VERSION in kubernetes_validate.utils.all_versions()


@pytest.mark.parametrize(
    "doc", [d for d in DOCS if builtin(d)], ids=ids([d for d in DOCS if builtin(d)])
)
def test_builtin_kinds_validate_strictly(doc: Doc) -> None:
    validate_builtin(doc.body)


CUSTOM_DOCS = [d for d in DOCS if d.body["apiVersion"] in CRD_SCHEMAS]


@pytest.mark.parametrize("doc", CUSTOM_DOCS, ids=ids(CUSTOM_DOCS))
def test_custom_resources_validate_against_their_crds(doc: Doc) -> None:
    validate_custom(doc.body)


def test_each_kind_is_present() -> None:
    kinds = {doc.kind for doc in DOCS}
    wanted = {
        "SeldonDeployment", "Deployment", "Service", "HorizontalPodAutoscaler",
        "PodDisruptionBudget", "ScaledObject", "Job", "Workflow", "PersistentVolumeClaim",
    }  # fmt: skip
    assert wanted <= kinds, wanted - kinds


Change = Callable[[dict[str, Any]], Any]


def broken(doc: Doc, change: Change) -> dict[str, Any]:
    body = copy.deepcopy(doc.body)
    change(body)
    return body


def _container(body: dict[str, Any]) -> dict[str, Any]:
    """The first container of a Deployment's pod template or a SeldonDeployment's component."""
    spec = body["spec"]
    pod = spec["template"]["spec"] if "template" in spec else _component(body)["spec"]
    first: dict[str, Any] = pod["containers"][0]
    return first


def _component(body: dict[str, Any]) -> dict[str, Any]:
    component: dict[str, Any] = body["spec"]["predictors"][0]["componentSpecs"][0]
    return component


def _deep_graph(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"name": f"node{depth}", "type": "MODEL"}
    for level in range(depth - 1, -1, -1):
        node = {"name": f"node{level}", "type": "MODEL", "children": [node]}
    return node


# Deliberately broken copies of real manifests, each with the error the validator must report:
# the proof that the validators are wired up and strict, not just passing everything.
BROKEN: dict[str, tuple[str, str, Change, str]] = {
    "deployment: unknown container field": (
        "Deployment", "iris", lambda b: _container(b).update({"imagePullPolicyy": "Always"}),
        "'imagePullPolicyy' was unexpected",
    ),
    "deployment: replicas as text": (
        "Deployment", "iris", lambda b: b["spec"].update({"replicas": "two"}),
        "'two' is not of type 'integer'",
    ),
    "deployment: probe without port": (
        "Deployment", "iris", lambda b: _container(b)["readinessProbe"]["httpGet"].pop("port"),
        "'port' is a required property",
    ),
    "sdep: predictor without graph": (
        "SeldonDeployment", "iris", lambda b: b["spec"]["predictors"][0].pop("graph"),
        "'graph' is a required property",
    ),
    "sdep: unknown spec field": (
        "SeldonDeployment", "iris", lambda b: b["spec"].update({"predictor": []}),
        "'predictor' was unexpected",
    ),
    "sdep: parameter without type": (
        "SeldonDeployment", "iris",
        lambda b: b["spec"]["predictors"][0]["graph"]["parameters"][0].pop("type"),
        "'type' is a required property",
    ),
    "sdep: replicas as text": (
        "SeldonDeployment", "iris", lambda b: b["spec"]["predictors"][0].update({"replicas": "3"}),
        "'3' is not of type 'integer'",
    ),
    "sdep: unknown field in the pod spec": (
        "SeldonDeployment", "iris", lambda b: _container(b).update({"envv": []}),
        "'envv' was unexpected",
    ),
    "sdep: container without name": (
        "SeldonDeployment", "iris", lambda b: _container(b).pop("name"),
        "'name' is a required property",
    ),
    "sdep: hpaSpec without maxReplicas": (
        "SeldonDeployment", "iris", lambda b: _component(b)["hpaSpec"].pop("maxReplicas"),
        "'maxReplicas' is a required property",
    ),
    "sdep: graph deeper than the CRD unrolls": (
        "SeldonDeployment", "iris",
        lambda b: b["spec"]["predictors"][0].update({"graph": _deep_graph(11)}),
        "'children' was unexpected",
    ),
    "sdep: bad metadata": (
        "SeldonDeployment", "iris", lambda b: b["metadata"].update({"labels": ["a"]}),
        "is not of type 'object'",
    ),
    "scaledobject: no triggers": (
        "ScaledObject", "iris-kafka", lambda b: b["spec"].pop("triggers"),
        "'triggers' is a required property",
    ),
    "scaledobject: lag threshold as a number": (
        "ScaledObject", "iris-kafka",
        lambda b: b["spec"]["triggers"][0]["metadata"].update({"lagThreshold": 50}),
        "50 is not of type 'string'",
    ),
    "scaledobject: unknown spec field": (
        "ScaledObject", "iris-kafka", lambda b: b["spec"].update({"maxReplicas": 3}),
        "'maxReplicas' was unexpected",
    ),
}  # fmt: skip


@pytest.mark.parametrize(("kind", "name", "change", "error"), BROKEN.values(), ids=BROKEN.keys())
def test_validators_reject_broken_manifests(
    kind: str, name: str, change: Change, error: str
) -> None:
    body = broken(only(kind, name), change)
    validate = validate_builtin if builtin(only(kind, name)) else validate_custom
    with pytest.raises(jsonschema.ValidationError, match=re.escape(error)):
        validate(body)


def test_crd_schema_accepts_the_deepest_graph_it_unrolls() -> None:
    graph = _deep_graph(10)
    validate_custom(
        broken(
            only("SeldonDeployment", "iris"),
            lambda b: b["spec"]["predictors"][0].update({"graph": graph}),
        )
    )


# --- the model server's configuration ---------------------------------------------------------


MODEL_CONTAINERS = model_containers()


def container_ids(pairs: list[tuple[Pod, dict[str, Any]]]) -> list[str]:
    return [f"{pod} {container['name']}" for pod, container in pairs]


def test_model_containers_are_found() -> None:
    assert {"Deployment", "SeldonDeployment"} <= {pod.kind for pod, _ in MODEL_CONTAINERS}


@pytest.mark.parametrize("doc", of_kind("SeldonDeployment"), ids=ids(of_kind("SeldonDeployment")))
def test_every_graph_node_has_its_container(doc: Doc) -> None:
    for predictor in doc.body["spec"]["predictors"]:
        containers = {
            c["name"] for spec in predictor["componentSpecs"] for c in spec["spec"]["containers"]
        }
        for node in graph_nodes(predictor["graph"]):
            assert node["name"] in containers, f"{doc}: no container for graph node {node['name']}"


@pytest.mark.parametrize(
    ("pod", "container"), MODEL_CONTAINERS, ids=container_ids(MODEL_CONTAINERS)
)
def test_model_container_env_is_known(pod: Pod, container: dict[str, Any]) -> None:
    names = [e["name"] for e in container.get("env", [])]
    assert len(names) == len(set(names)), f"{pod}: an env var is set twice"
    unknown = set(names) - SERVER_ENV - S2I_ENV
    assert not unknown, f"{pod}: not server options: {sorted(unknown)}"


@pytest.mark.parametrize(
    ("pod", "container"), MODEL_CONTAINERS, ids=container_ids(MODEL_CONTAINERS)
)
def test_model_container_configuration_resolves(pod: Pod, container: dict[str, Any]) -> None:
    settings = server_settings(pod, container)
    env = literal_env(container)
    if "GUNICORN_WORKERS" in env:
        assert settings.workers == int(env["GUNICORN_WORKERS"])
    if "GRPC_WORKERS" in env:
        assert settings.grpc_workers == int(env["GRPC_WORKERS"])
    if "SELDON_GRACEFUL_TIMEOUT" in env:
        assert settings.graceful_timeout == float(env["SELDON_GRACEFUL_TIMEOUT"])
    if "SELDON_LOG_URL" in env:
        assert settings.log_url == env["SELDON_LOG_URL"]
    if pod.annotations.get("seldon.io/rest-timeout"):
        assert settings.rest_timeout == int(pod.annotations["seldon.io/rest-timeout"]) // 1000


@pytest.mark.parametrize(
    ("pod", "container"), MODEL_CONTAINERS, ids=container_ids(MODEL_CONTAINERS)
)
def test_model_parameters_fit_the_model_class(pod: Pod, container: dict[str, Any]) -> None:
    """The parameters are keyword arguments of IrisClassifier, and a weights path is where the
    image's assemble script puts the model folder's weights."""
    params = parse_parameters(server_settings(pod, container).parameters)
    model_class = getattr(iris_module(), s2i_environment()["MODEL_NAME"])
    inspect.signature(model_class).bind(**params)
    if "weights_path" in params:
        path = Path(params["weights_path"])
        assert path.parent == Path("/microservice") and (IRIS / path.name).is_file()


def test_seldondeployment_parameters_reach_the_server() -> None:
    pod = next(p for p in PODS if p.where.startswith("seldon/rest-grpc.yaml"))
    settings = server_settings(pod, pod.spec["containers"][0])
    assert parse_parameters(settings.parameters) == {"weights_path": "/microservice/weights.npz"}
    assert (settings.predictive_unit_id, settings.predictor_id) == ("classifier", "default")
    assert settings.deployment_id == "iris"


@pytest.mark.parametrize("pod", model_pods(), ids=[str(p) for p in model_pods()])
def test_grace_period_outlasts_the_drain(pod: Pod) -> None:
    grace = pod.spec.get("terminationGracePeriodSeconds")
    assert grace is not None, f"{pod}: set terminationGracePeriodSeconds (default 30 s)"
    for container in pod.spec["containers"]:
        if is_model(container):
            drain = server_settings(pod, container).graceful_timeout
            assert grace > prestop_sleep(container) + drain, (
                f"{pod}: {grace} s must exceed preStop {prestop_sleep(container)} s + "
                f"SELDON_GRACEFUL_TIMEOUT {drain} s"
            )


@pytest.mark.parametrize(
    ("pod", "container"), MODEL_CONTAINERS, ids=container_ids(MODEL_CONTAINERS)
)
def test_probes_use_ready_and_live_on_the_http_port(pod: Pod, container: dict[str, Any]) -> None:
    http_port = server_settings(pod, container).http_port
    for probe, path in (("readinessProbe", "/ready"), ("livenessProbe", "/live")):
        get = container[probe]["httpGet"]
        assert get["path"] == path, f"{pod}: {probe} on {get['path']}"
        assert container_port(container, get["port"]) == http_port, f"{pod}: {probe} port"
    if "startupProbe" in container:
        get = container["startupProbe"]["httpGet"]
        assert get["path"] == "/live" and container_port(container, get["port"]) == http_port


@pytest.mark.parametrize(
    ("pod", "container"), MODEL_CONTAINERS, ids=container_ids(MODEL_CONTAINERS)
)
def test_declared_ports_match_the_server(pod: Pod, container: dict[str, Any]) -> None:
    settings = server_settings(pod, container)
    wanted = {
        "http": settings.http_port,
        "grpc": settings.grpc_port,
        "metrics": settings.metrics_port,
    }
    for port in container.get("ports", []):
        assert wanted[port["name"]] == port["containerPort"], f"{pod}: port {port}"


# --- pod hygiene -------------------------------------------------------------------------------


def effective(pod: Pod, container: Mapping[str, Any], key: str) -> Any:
    """A security setting as the kubelet applies it: the container's, else the pod's."""
    own = container.get("securityContext", {})
    return own[key] if key in own else pod.spec.get("securityContext", {}).get(key)


ALL_CONTAINERS = [(pod, c) for pod in ALL_PODS for c in pod.spec["containers"]]


@pytest.mark.parametrize(("pod", "container"), ALL_CONTAINERS, ids=container_ids(ALL_CONTAINERS))
def test_containers_run_locked_down(pod: Pod, container: dict[str, Any]) -> None:
    assert effective(pod, container, "runAsNonRoot") is True, pod
    assert effective(pod, container, "runAsUser") == IMAGE_USER, pod
    assert effective(pod, container, "allowPrivilegeEscalation") is False, pod
    assert effective(pod, container, "readOnlyRootFilesystem") is True, pod
    if is_model(container) or is_batch(container):
        volumes = {v["name"]: v for v in pod.spec.get("volumes", [])}
        (tmp,) = [m for m in container.get("volumeMounts", []) if m["mountPath"] == "/tmp"]
        assert "emptyDir" in volumes[tmp["name"]], f"{pod}: /tmp must be an emptyDir"


@pytest.mark.parametrize(("pod", "container"), ALL_CONTAINERS, ids=container_ids(ALL_CONTAINERS))
def test_containers_request_resources(pod: Pod, container: dict[str, Any]) -> None:
    requests = container.get("resources", {}).get("requests", {})
    assert {"cpu", "memory"} <= set(requests), f"{pod}: requests {requests}"
    assert "memory" in container["resources"].get("limits", {}), f"{pod}: no memory limit"


def test_pod_volumes_exist() -> None:
    claims = {doc.name for doc in of_kind("PersistentVolumeClaim")}
    for pod in ALL_PODS:
        volumes = {v["name"]: v for v in pod.spec.get("volumes", [])}
        for container in pod.spec["containers"]:
            for mount in container.get("volumeMounts", []):
                assert mount["name"] in volumes, f"{pod}: no volume {mount['name']}"
        for volume in volumes.values():
            if "persistentVolumeClaim" in volume:
                assert volume["persistentVolumeClaim"]["claimName"] in claims, pod


# --- autoscaling, disruption budgets, services -----------------------------------------------


def deployment_of(ref: Mapping[str, Any], doc: Doc) -> Doc:
    assert ref.get("kind", "Deployment") == "Deployment", doc
    (target,) = [d for d in of_kind("Deployment") if d.name == ref["name"]]
    assert target.path == doc.path, f"{doc}: its target belongs in the same file"
    return target


def template_labels(deployment: Doc) -> dict[str, str]:
    labels: dict[str, str] = deployment.body["spec"]["template"]["metadata"]["labels"]
    assert deployment.body["spec"]["selector"]["matchLabels"].items() <= labels.items()
    return labels


@pytest.mark.parametrize(
    "doc", of_kind("HorizontalPodAutoscaler"), ids=ids(of_kind("HorizontalPodAutoscaler"))
)
def test_hpa_scales_a_deployment_on_requested_cpu(doc: Doc) -> None:
    target = deployment_of(doc.body["spec"]["scaleTargetRef"], doc)
    resources_used = {
        m["resource"]["name"] for m in doc.body["spec"]["metrics"] if m["type"] == "Resource"
    }
    for container in target.body["spec"]["template"]["spec"]["containers"]:
        assert resources_used <= set(container["resources"]["requests"]), f"{doc}: no requests"
    assert doc.body["spec"]["minReplicas"] >= 2, f"{doc}: one replica cannot survive a drain"


@pytest.mark.parametrize(
    "doc", of_kind("PodDisruptionBudget"), ids=ids(of_kind("PodDisruptionBudget"))
)
def test_pdb_covers_a_deployment_and_allows_drains(doc: Doc) -> None:
    selector = doc.body["spec"]["selector"]["matchLabels"]
    (target,) = [d for d in of_kind("Deployment") if selector.items() <= template_labels(d).items()]
    hpas = [
        h
        for h in of_kind("HorizontalPodAutoscaler")
        if h.body["spec"]["scaleTargetRef"]["name"] == target.name
    ]
    floor = min([h.body["spec"]["minReplicas"] for h in hpas] or [target.body["spec"]["replicas"]])
    spec = doc.body["spec"]
    assert spec.get("maxUnavailable", 0) >= 1 or spec["minAvailable"] < floor, doc


@pytest.mark.parametrize("doc", of_kind("Service"), ids=ids(of_kind("Service")))
def test_service_ports_reach_the_server(doc: Doc) -> None:
    selector = doc.body["spec"]["selector"]
    (target,) = [d for d in of_kind("Deployment") if selector.items() <= template_labels(d).items()]
    pod = next(p for p in PODS if p.where == str(target))
    (container,) = [c for c in pod.spec["containers"] if is_model(c)]
    settings = server_settings(pod, container)
    ports = {p["name"]: p for p in doc.body["spec"]["ports"]}
    assert set(ports) == {"http", "grpc", "metrics"}
    for name, number in (
        ("http", settings.http_port),
        ("grpc", settings.grpc_port),
        ("metrics", settings.metrics_port),
    ):
        assert container_port(container, ports[name]["targetPort"]) == number, f"{doc}: {name}"


def test_one_autoscaler_per_deployment() -> None:
    targets = [h.body["spec"]["scaleTargetRef"]["name"] for h in of_kind("HorizontalPodAutoscaler")]
    targets += [s.body["spec"]["scaleTargetRef"]["name"] for s in of_kind("ScaledObject")]
    assert len(targets) == len(set(targets)), "KEDA and an HPA would fight over one Deployment"


@pytest.mark.parametrize("doc", of_kind("ScaledObject"), ids=ids(of_kind("ScaledObject")))
def test_scaledobject_follows_its_kafka_deployment(doc: Doc) -> None:
    target = deployment_of(doc.body["spec"]["scaleTargetRef"], doc)
    pod = next(p for p in PODS if p.where == str(target))
    (container,) = [c for c in pod.spec["containers"] if is_model(c)]
    settings = server_settings(pod, container)
    assert settings.server_type == "kafka", f"{doc}: its Deployment does not consume Kafka"
    (trigger,) = doc.body["spec"]["triggers"]
    meta = trigger["metadata"]
    assert trigger["type"] == "kafka"
    assert meta["topic"] == settings.kafka_input_topic
    assert meta["consumerGroup"] == settings.kafka_group_id
    assert meta["bootstrapServers"] == settings.kafka_broker
    assert doc.body["spec"]["minReplicaCount"] >= 1  # 0 would stop the lag from being consumed


def test_kafka_seldondeployment_configures_the_executor() -> None:
    doc = only("SeldonDeployment", "iris-kafka")
    spec = doc.body["spec"]
    assert spec["serverType"] == "kafka"
    (predictor,) = spec["predictors"]
    executor_env = {e["name"]: e["value"] for e in predictor["svcOrchSpec"]["env"]}
    assert set(executor_env) <= EXECUTOR_KAFKA_ENV
    assert {"KAFKA_BROKER", "KAFKA_INPUT_TOPIC", "KAFKA_OUTPUT_TOPIC"} <= set(executor_env)
    group = f"{predictor['name']}.{doc.name}.{doc.body['metadata']['namespace']}"
    for component in predictor["componentSpecs"]:
        for container in component["spec"]["containers"]:
            assert not {"SERVER_TYPE", "KAFKA_BROKER"} & set(literal_env(container)), (
                "the executor consumes; a model consuming too would split the partitions"
            )
        (trigger,) = component["kedaSpec"]["triggers"]
        assert trigger["metadata"]["topic"] == executor_env["KAFKA_INPUT_TOPIC"]
        assert trigger["metadata"]["bootstrapServers"] == executor_env["KAFKA_BROKER"]
        assert trigger["metadata"]["consumerGroup"] == group


def test_request_logging_seldondeployment_logs_to_the_request_logger() -> None:
    pod = next(p for p in PODS if p.where.startswith("seldon/request-logging.yaml"))
    settings = server_settings(pod, pod.spec["containers"][0])
    assert settings.log_url is not None and "seldon-request-logger" in settings.log_url
    graph = only("SeldonDeployment", "iris-logged").body["spec"]["predictors"][0]["graph"]
    assert "logger" not in graph, "the executor's logger would log every event twice"


# --- sharded batch -----------------------------------------------------------------------------


def batch_containers() -> list[tuple[Pod, dict[str, Any]]]:
    return [(pod, c) for pod in ALL_PODS for c in pod.spec["containers"] if is_batch(c)]


@pytest.mark.parametrize(
    ("pod", "container"), batch_containers(), ids=container_ids(batch_containers())
)
def test_batch_container_env_is_known(pod: Pod, container: dict[str, Any]) -> None:
    unknown = {e["name"] for e in container.get("env", [])} - BATCH_ENV
    assert not unknown, f"{pod}: not batch processor options: {sorted(unknown)}"
    assert container["image"] == "seldon-server-python:0.1.0"


def shard_configs(args: list[str], count: int, env_index: bool) -> list[batch_config.BatchConfig]:
    """The batch processor's view of each shard: by JOB_COMPLETION_INDEX, or by substituting the
    Argo parameters."""
    configs = []
    for index in range(count):
        if env_index:
            configs.append(batch_config.resolve(args, {"JOB_COMPLETION_INDEX": str(index)}))
        else:
            subst = [a.replace("{{inputs.parameters.index}}", str(index)) for a in args]
            subst = [a.replace("{{workflow.parameters.shards}}", str(count)) for a in subst]
            configs.append(batch_config.resolve(subst, {}))
    return configs


def check_shards(where: str, configs: list[batch_config.BatchConfig], mounts: list[str]) -> None:
    count = len(configs)
    assert [c.shard_index for c in configs] == list(range(count)), where
    assert {c.shard_count for c in configs} == {count}, where
    outputs = [c.output_data_path for c in configs]
    assert len(set(outputs)) == count, f"{where}: shards would share an output file"
    for config in configs:
        for path in (config.input_data_path, config.output_data_path):
            assert any(path.is_relative_to(m) for m in mounts), f"{where}: {path} not on a volume"
    assert len({c.input_data_path for c in configs}) == 1
    for config in configs:  # the target is the model Service of deploy/kubernetes/
        host, port = config.host.rsplit(":", 1)
        service = only("Service", host)
        assert int(port) in [
            p["port"] for p in service.body["spec"]["ports"] if p["name"] == "http"
        ]
        assert config.gateway_type == "seldon" and config.transport == "rest"


def merge_args(argv: list[str]) -> Any:
    merge = pytest.importorskip("seldon_server.batch.merge")
    return merge.build_parser().parse_args(argv)


def test_indexed_job_runs_one_shard_per_index() -> None:
    job = only("Job", "iris-batch-shards")
    spec = job.body["spec"]
    assert spec["completionMode"] == "Indexed"
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == [BATCH_COMMAND]
    configs = shard_configs(container["args"], spec["completions"], env_index=True)
    assert spec["parallelism"] == spec["completions"] == configs[0].shard_count
    assert "--resume" in container["args"], "a retried index should continue its own output"
    if "backoffLimitPerIndex" in spec:
        assert pod["restartPolicy"] == "Never"
    check_shards(str(job), configs, [m["mountPath"] for m in container["volumeMounts"]])


def test_merge_job_joins_every_shard_in_order() -> None:
    shards = only("Job", "iris-batch-shards").body["spec"]
    configs = shard_configs(
        shards["template"]["spec"]["containers"][0]["args"], shards["completions"], env_index=True
    )
    (container,) = only("Job", "iris-batch-merge").body["spec"]["template"]["spec"]["containers"]
    assert container["command"] == [BATCH_COMMAND, "merge"]
    args = merge_args(container["args"])
    assert list(args.shards) == [c.output_data_path for c in configs]
    assert args.input_data_path == configs[0].input_data_path
    assert args.output_data_path not in args.shards


def test_workflow_runs_the_shards_then_the_merge() -> None:
    doc = only("Workflow", "iris-batch-")
    spec = doc.body["spec"]
    templates = {t["name"]: t for t in spec["templates"]}
    assert len(templates) == len(spec["templates"])
    entry = templates[spec["entrypoint"]]
    groups = entry["steps"]
    for group in groups:
        for step in group:
            template = templates[step["template"]]
            given = {p["name"] for p in step.get("arguments", {}).get("parameters", [])}
            wanted = {p["name"] for p in template.get("inputs", {}).get("parameters", [])}
            assert given == wanted, f"{step['name']}: parameters {given} for {wanted}"
    [[shard_step], [merge_step]] = groups  # the merge waits for every shard
    parameters = {p["name"]: p["value"] for p in spec["arguments"]["parameters"]}
    count = int(parameters["shards"])
    assert shard_step["withSequence"] == {"count": "{{workflow.parameters.shards}}"}
    assert shard_step["arguments"]["parameters"] == [{"name": "index", "value": "{{item}}"}]
    shard = templates[shard_step["template"]]["container"]
    assert shard["command"] == [BATCH_COMMAND]
    configs = shard_configs(shard["args"], count, env_index=False)
    check_shards(str(doc), configs, [m["mountPath"] for m in shard["volumeMounts"]])

    merge = templates[merge_step["template"]]["container"]
    assert merge["command"] == ["sh", "-c"]
    words = shlex.split(merge["args"][0])
    assert words[:3] == ["exec", BATCH_COMMAND, "merge"]
    args = merge_args(words[3:])
    assert args.input_data_path == configs[0].input_data_path
    (pattern,) = args.shards
    assert all(fnmatch.fnmatch(str(c.output_data_path), str(pattern)) for c in configs)
    assert not fnmatch.fnmatch(str(args.output_data_path), str(pattern)), (
        "merge would read its output"
    )


@pytest.mark.parametrize("pod", workflow_pods(), ids=[str(p) for p in workflow_pods()])
def test_workflow_containers_are_kubernetes_containers(pod: Pod) -> None:
    validator = k8s_type_validator("io.k8s.api.core.v1.Container")
    for container in pod.spec["containers"]:
        validator.validate(container)
    k8s_type_validator("io.k8s.api.core.v1.PodSecurityContext").validate(
        pod.spec["securityContext"]
    )
    for volume in pod.spec["volumes"]:
        k8s_type_validator("io.k8s.api.core.v1.Volume").validate(volume)


def test_workflow_container_validation_rejects_a_typo() -> None:
    (pod,) = [p for p in workflow_pods() if p.where.endswith("template shard")]
    container = copy.deepcopy(pod.spec["containers"][0])
    container["volumeMount"] = container.pop("volumeMounts")
    with pytest.raises(jsonschema.ValidationError, match="'volumeMount' was unexpected"):
        k8s_type_validator("io.k8s.api.core.v1.Container").validate(container)


# --- documentation -----------------------------------------------------------------------------


def test_readme_explains_every_manifest() -> None:
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    for path in sorted({doc.path for doc in DOCS}):
        assert str(path.relative_to(DEPLOY)) in readme, f"deploy/README.md does not mention {path}"
