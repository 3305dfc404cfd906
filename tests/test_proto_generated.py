"""The generated protobuf code is up to date, and the wire contract matches the original's."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from google.protobuf.descriptor import FieldDescriptor

from seldon_server.proto import prediction_pb2 as pb

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ROOT / "seldon_server" / "proto"


def source_files(directory: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def test_generated_code_is_up_to_date(tmp_path: Path) -> None:
    pytest.importorskip("grpc_tools")
    out = tmp_path / "proto"
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "generate_proto.py"), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    fresh, committed = source_files(out), source_files(GENERATED)
    assert "prediction_pb2.py" in fresh
    assert sorted(fresh) == sorted(committed), "files differ: run scripts/generate_proto.py"
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"stale generated code, run scripts/generate_proto.py: {stale}"


def test_file_and_module_names_are_the_originals_and_pickle_works() -> None:
    """Reflection clients ask for proto/prediction.proto; pickle imports the named module."""
    import pickle

    assert pb.DESCRIPTOR.name == "proto/prediction.proto"
    message = pb.SeldonMessage(strData="x")
    assert type(message).__module__ == "seldon_server.proto.prediction_pb2"
    assert pickle.loads(pickle.dumps(message)) == message


T = FieldDescriptor
# message -> {field: (number, type, repeated)}, as in the original prediction.proto
FIELDS = {
    "SeldonMessage": {
        "status": (1, T.TYPE_MESSAGE, False),
        "meta": (2, T.TYPE_MESSAGE, False),
        "data": (3, T.TYPE_MESSAGE, False),
        "binData": (4, T.TYPE_BYTES, False),
        "strData": (5, T.TYPE_STRING, False),
        "jsonData": (6, T.TYPE_MESSAGE, False),
        "customData": (7, T.TYPE_MESSAGE, False),
    },
    "DefaultData": {
        "names": (1, T.TYPE_STRING, True),
        "tensor": (2, T.TYPE_MESSAGE, False),
        "ndarray": (3, T.TYPE_MESSAGE, False),
        "tftensor": (4, T.TYPE_MESSAGE, False),
    },
    "Tensor": {"shape": (1, T.TYPE_INT32, True), "values": (2, T.TYPE_DOUBLE, True)},
    "Meta": {
        "puid": (1, T.TYPE_STRING, False),
        "tags": (2, T.TYPE_MESSAGE, True),
        "routing": (3, T.TYPE_MESSAGE, True),
        "requestPath": (4, T.TYPE_MESSAGE, True),
        "metrics": (5, T.TYPE_MESSAGE, True),
    },
    "Metric": {
        "key": (1, T.TYPE_STRING, False),
        "type": (2, T.TYPE_ENUM, False),
        "value": (3, T.TYPE_FLOAT, False),
        "tags": (4, T.TYPE_MESSAGE, True),
    },
    "Feedback": {
        "request": (1, T.TYPE_MESSAGE, False),
        "response": (2, T.TYPE_MESSAGE, False),
        "reward": (3, T.TYPE_FLOAT, False),
        "truth": (4, T.TYPE_MESSAGE, False),
    },
    "SeldonMessageList": {"seldonMessages": (1, T.TYPE_MESSAGE, True)},
    "Status": {
        "code": (1, T.TYPE_INT32, False),
        "info": (2, T.TYPE_STRING, False),
        "reason": (3, T.TYPE_STRING, False),
        "status": (4, T.TYPE_ENUM, False),
    },
    "SeldonMessageMetadata": {
        "messagetype": (1, T.TYPE_STRING, False),
        "schema": (2, T.TYPE_MESSAGE, False),
        "name": (3, T.TYPE_STRING, False),
        "datatype": (4, T.TYPE_STRING, False),
        "shape": (5, T.TYPE_INT64, True),
    },
    "SeldonModelMetadata": {
        "name": (1, T.TYPE_STRING, False),
        "versions": (2, T.TYPE_STRING, True),
        "platform": (3, T.TYPE_STRING, False),
        "inputs": (4, T.TYPE_MESSAGE, True),
        "outputs": (5, T.TYPE_MESSAGE, True),
        "custom": (6, T.TYPE_MESSAGE, True),
    },
}


@pytest.mark.parametrize("message", sorted(FIELDS))
def test_field_numbers_match_the_reference(message: str) -> None:
    descriptor = pb.DESCRIPTOR.message_types_by_name[message]
    actual = {
        field.name: (field.number, field.type, field.is_repeated) for field in descriptor.fields
    }
    assert actual == FIELDS[message]


def test_oneofs_packing_and_enums() -> None:
    seldon = pb.SeldonMessage.DESCRIPTOR.oneofs_by_name["data_oneof"]
    assert [f.name for f in seldon.fields] == [
        "data",
        "binData",
        "strData",
        "jsonData",
        "customData",
    ]
    default = pb.DefaultData.DESCRIPTOR.oneofs_by_name["data_oneof"]
    assert [f.name for f in default.fields] == ["tensor", "ndarray", "tftensor"]
    tensor = pb.Tensor.DESCRIPTOR.fields_by_name
    assert tensor["shape"].is_packed and tensor["values"].is_packed
    assert dict(pb.Metric.MetricType.items()) == {"COUNTER": 0, "GAUGE": 1, "TIMER": 2}
    assert dict(pb.Status.StatusFlag.items()) == {"SUCCESS": 0, "FAILURE": 1}
    meta = pb.Meta.DESCRIPTOR.fields_by_name
    assert (
        meta["tags"].message_type.fields_by_name["value"].message_type.full_name
        == "google.protobuf.Value"
    )
    assert meta["routing"].message_type.fields_by_name["value"].type == T.TYPE_INT32
    assert meta["requestPath"].message_type.fields_by_name["value"].type == T.TYPE_STRING
    data = pb.DefaultData.DESCRIPTOR.fields_by_name
    assert data["ndarray"].message_type.full_name == "google.protobuf.ListValue"
    assert data["tftensor"].message_type.full_name == "tensorflow.TensorProto"


SERVICES = {
    "Generic": {"TransformInput", "TransformOutput", "Route", "Aggregate", "SendFeedback"},
    "Model": {"Predict", "SendFeedback", "Metadata"},
    "Router": {"Route", "SendFeedback"},
    "Transformer": {"TransformInput"},
    "OutputTransformer": {"TransformOutput"},
    "Combiner": {"Aggregate"},
    "Seldon": {"Predict", "SendFeedback", "ModelMetadata", "GraphMetadata"},
}


def test_package_and_services() -> None:
    assert pb.DESCRIPTOR.package == "seldon.protos"
    services = {name: set(s.methods_by_name) for name, s in pb.DESCRIPTOR.services_by_name.items()}
    assert services == SERVICES
    aggregate = pb.DESCRIPTOR.services_by_name["Combiner"].methods_by_name["Aggregate"]
    assert aggregate.input_type.name == "SeldonMessageList"
    metadata = pb.DESCRIPTOR.services_by_name["Model"].methods_by_name["Metadata"]
    assert (metadata.input_type.full_name, metadata.output_type.name) == (
        "google.protobuf.Empty",
        "SeldonModelMetadata",
    )
    model_metadata = pb.DESCRIPTOR.services_by_name["Seldon"].methods_by_name["ModelMetadata"]
    assert model_metadata.input_type.name == "SeldonModelMetadataRequest"


def test_proto_options() -> None:
    options = pb.DESCRIPTOR.GetOptions()
    assert options.java_package == "io.seldon.protos"
    assert options.java_outer_classname == "PredictionProtos"
    assert (
        options.go_package == "github.com/seldonio/seldon-core/incubating/wrappers/s2i/go/pkg/api"
    )


def test_the_v2_proto_lives_beside_other_registrations_of_its_names() -> None:
    """A model may import another V2 client or server (tritonclient, MLServer) whose `inference`
    proto registers the same names in protobuf's default pool, before or after ours."""
    script = textwrap.dedent(
        """
        import ast, re, sys
        from google.protobuf import descriptor_pb2, descriptor_pool
        source = open(sys.argv[1]).read()
        blob = ast.literal_eval(re.search(r"AddSerializedFile\\((b.*?)\\)\\n", source, re.S)[1])
        other = descriptor_pb2.FileDescriptorProto.FromString(blob)
        other.name = "someone/else/grpc_service.proto"
        if sys.argv[2] == "before":
            descriptor_pool.Default().Add(other)
        from seldon_server.grpc import server  # imports our V2 proto
        from seldon_server.proto import grpc_predict_v2_pb2 as ours
        if sys.argv[2] == "after":
            descriptor_pool.Default().Add(other)
        message = ours.ModelInferRequest(model_name="m")
        assert ours.ModelInferRequest.FromString(message.SerializeToString()).model_name == "m"
        print("ok")
        """
    )
    generated = Path(__file__).parent.parent / "seldon_server" / "proto" / "grpc_predict_v2_pb2.py"
    for order in ("before", "after"):
        done = subprocess.run(
            [sys.executable, "-c", script, str(generated), order],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert (done.returncode, done.stdout.strip()) == (0, "ok"), done.stderr
