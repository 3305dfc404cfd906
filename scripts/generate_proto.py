"""Regenerate seldon_server/proto from proto/ (run: python scripts/generate_proto.py [OUT_DIR])."""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
PACKAGE = "seldon_server.proto"
# prediction.proto is compiled as "proto/prediction.proto" (relative to the repository root):
# that is the file name the original registers, and gRPC reflection clients ask for it.
PREDICTION = "proto/prediction.proto"
# The Open Inference Protocol proto is compiled by its bare file name, the one its other servers
# register, from proto/ alone (with the root on the path too it would be named proto/...).
OPEN_INFERENCE = "grpc_predict_v2.proto"
SOURCES = [
    "tensorflow/core/framework/tensor.proto",
    "tensorflow/core/framework/tensor_shape.proto",
    "tensorflow/core/framework/resource_handle.proto",
    "tensorflow/core/framework/types.proto",
]


def _rewrite_imports(text: str) -> str:
    # protoc emits imports relative to the proto root; make them absolute inside our package.
    text = re.sub(
        r"^from tensorflow\.core\.framework import",
        f"from {PACKAGE}.tensorflow.core.framework import",
        text,
        flags=re.M,
    )
    # The module each message class names as its own (pickle imports it): ours, in the package.
    text = re.sub(
        r"(BuildTopDescriptorsAndMessages\(DESCRIPTOR, ')(?:proto\.)?([\w.]+')",
        rf"\g<1>{PACKAGE}.\g<2>",
        text,
    )
    text = re.sub(
        r"^from proto import prediction_pb2 as",
        f"from {PACKAGE} import prediction_pb2 as",
        text,
        flags=re.M,
    )
    return re.sub(
        r"^import grpc_predict_v2_pb2 as",
        f"from {PACKAGE} import grpc_predict_v2_pb2 as",
        text,
        flags=re.M,
    )


def _private_pool(text: str) -> str:
    """The V2 proto in a descriptor pool of its own: its `inference.*` names are the same as
    those of every other V2 client and server (tritonclient, MLServer), which a model may import;
    two registrations of one name in the default pool make the second import fail."""
    registered = "DESCRIPTOR = _descriptor_pool.Default().AddSerializedFile("
    if registered not in text:
        raise SystemExit("generate_proto: the V2 module no longer registers as expected")
    private = "POOL = _descriptor_pool.DescriptorPool()\nDESCRIPTOR = POOL.AddSerializedFile("
    return text.replace(registered, private)


def generate(out_dir: Path) -> None:
    from grpc_tools import protoc  # dev dependency, only needed here

    include = str(Path(protoc.__file__).parent / "_proto")
    with tempfile.TemporaryDirectory() as tmp:
        args = [
            "protoc",
            f"-I{ROOT}",
            f"-I{PROTO_DIR}",
            f"-I{include}",
            f"--python_out={tmp}",
            f"--pyi_out={tmp}",
        ]
        if protoc.main([*args, f"--grpc_python_out={tmp}", PREDICTION]) != 0:
            raise SystemExit(f"protoc failed on {PREDICTION}")
        if protoc.main([*args, *SOURCES]) != 0:
            raise SystemExit("protoc failed on the tensorflow protos")
        open_inference = [
            "protoc",
            f"-I{PROTO_DIR}",
            f"-I{include}",
            f"--python_out={tmp}",
            f"--pyi_out={tmp}",
            f"--grpc_python_out={tmp}",
            OPEN_INFERENCE,
        ]
        if protoc.main(open_inference) != 0:
            raise SystemExit(f"protoc failed on {OPEN_INFERENCE}")
        for path in sorted(Path(tmp).rglob("*.py*")):
            relative = path.relative_to(tmp)
            if relative.parts[0] == "proto":  # proto/prediction_pb2*.py -> the package root
                relative = relative.relative_to("proto")
            target = out_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            text = _rewrite_imports(path.read_text())
            if relative.name == "grpc_predict_v2_pb2.py":
                text = _private_pool(text)
            target.write_text(text)
    for package_dir in [out_dir, *sorted(p for p in out_dir.rglob("*") if p.is_dir())]:
        if package_dir.name != "__pycache__":
            (package_dir / "__init__.py").touch()


def main() -> None:
    out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "seldon_server" / "proto"
    if out_dir.exists():
        shutil.rmtree(out_dir)
    generate(out_dir)
    (out_dir / "__init__.py").write_text(
        '"""Generated protobuf code; regenerate with scripts/generate_proto.py."""\n'
    )


if __name__ == "__main__":
    main()
