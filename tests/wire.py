"""A component constructed the way the Pulumi engine does it for another language: over gRPC.

The component package runs as its own process (``components/__main__.py``, what ``pulumi package add`` starts) and
receives a ``ConstructRequest`` whose inputs are encoded in Pulumi's wire format, exactly as the engine forwards
what a TypeScript, Go or YAML program gave: a secret Output travels as an *output value* (with ``secret: true``),
an older client's secret as a *secret* wrapper. The provider registers the component's children with the resource
monitor named in the request; here that monitor is a gRPC server in the test process that records every
registration in wire form (``tools.offline``'s recording mocks), so a test sees exactly what would reach the state.
"""

import subprocess
import sys
from concurrent import futures
from typing import Any

import grpc
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import (
    engine_pb2,
    engine_pb2_grpc,
    provider_pb2,
    provider_pb2_grpc,
    resource_pb2,
    resource_pb2_grpc,
)

from tools.offline import INVOKES, PROJECT, ROOT, Recording, _build_mocks

SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
STACK = "wire"


def output_value(value: Any, secret: bool = True) -> dict[str, Any]:
    """How the engine forwards an Output a program passed (``config.requireSecret(...)``): an output value."""
    return {SIG_KEY: OUTPUT_SIG, "value": value, "secret": secret, "dependencies": []}


def secret_value(value: Any) -> dict[str, Any]:
    """How a client without output values forwards a secret: the secret wrapper."""
    return {SIG_KEY: SECRET_SIG, "value": value}


class _Monitor(resource_pb2_grpc.ResourceMonitorServicer):
    def __init__(self, recording: Recording):
        _, self.mock = _build_mocks(recording, INVOKES)

    def GetDeploymentInfo(self, request, context):
        return self.mock.GetDeploymentInfo(request)

    def SupportsFeature(self, request, context):
        return resource_pb2.SupportsFeatureResponse(hasSupport=self.mock.SupportsFeature(request).hasSupport)

    def Invoke(self, request, context):
        return self.mock.Invoke(request)

    def RegisterResource(self, request, context):
        return self.mock.RegisterResource(request)

    def RegisterResourceOutputs(self, request, context):
        return empty_pb2.Empty()

    def RegisterPackage(self, request, context):
        return self.mock.RegisterPackage(request)


class _Engine(engine_pb2_grpc.EngineServicer):
    def __init__(self) -> None:
        self.logs: list[str] = []

    def Log(self, request, context):
        if request.severity >= engine_pb2.WARNING:  # the provider's debug log narrates every registration
            self.logs.append(request.message)
        return empty_pb2.Empty()

    def GetRootResource(self, request, context):
        return engine_pb2.GetRootResourceResponse(urn="")

    def SetRootResource(self, request, context):
        return engine_pb2.SetRootResourceResponse()


def _property_errors(failed: grpc.RpcError) -> str:
    """The per-property reasons of an INVALID_ARGUMENT reply (sent in the status details, not the message)."""
    from pulumi.runtime.proto import errors_pb2, status_pb2  # Pulumi's copies (google.rpc's would clash)

    status = status_pb2.Status()
    for key, value in failed.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status.ParseFromString(value)
    reasons = []
    for detail in status.details:
        errors = errors_pb2.InputPropertiesError()
        detail.Unpack(errors)
        reasons += [f"{e.property_path}: {e.reason}" for e in errors.errors]
    return "; ".join(reasons) or failed.code().name


class Construction:
    """The outcome of one Construct call: what was registered, what the engine was told, and the reply or error."""

    def __init__(self, recording: Recording, logs: list[str], error: str | None, state: dict[str, Any] | None):
        self.recording, self.logs, self.error, self.state = recording, logs, error, state


def construct(type_name: str, inputs: dict[str, Any], name: str = "wire") -> Construction:
    """Construct ``n8n:index:<type_name>`` in the component package's own process, over gRPC."""
    from google.protobuf import json_format
    from pulumi.runtime import settings as runtime_settings

    runtime_settings.reset_options(project=PROJECT, stack=STACK, preview=False)  # the recorder's URNs
    recording, engine = Recording(), _Engine()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    resource_pb2_grpc.add_ResourceMonitorServicer_to_server(_Monitor(recording), server)
    engine_pb2_grpc.add_EngineServicer_to_server(engine, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    process = subprocess.Popen([sys.executable, "__main__.py", f"127.0.0.1:{port}"], cwd=ROOT / "components",
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={"PYTHONPATH": str(ROOT / "components"), "PATH": "/usr/bin:/bin"})
    error, state = None, None
    try:
        provider_port = int(process.stdout.readline().strip())
        request = provider_pb2.ConstructRequest(
            project=PROJECT, stack=STACK, organization="organization", monitorEndpoint=f"127.0.0.1:{port}",
            type=f"n8n:index:{type_name}", name=name, inputs=json_format.ParseDict(inputs, struct_pb2.Struct()))
        with grpc.insecure_channel(f"127.0.0.1:{provider_port}") as channel:
            try:
                reply = provider_pb2_grpc.ResourceProviderStub(channel).Construct(request, timeout=240)
                state = json_format.MessageToDict(reply.state)
            except grpc.RpcError as failed:
                error = failed.details() or _property_errors(failed)
        return Construction(recording, engine.logs, error, state)
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
        if error is not None:
            error = f"{error}\n{stderr}"
        server.stop(grace=None)
