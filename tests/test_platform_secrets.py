"""N8nPlatform's secrets from other languages: encryptionKey, licenseActivationKey and oidcClientSecret as top-level
inputs that take secret Outputs, placed only as secrets, with every rule on them still enforced.

The first tests construct the platform in the component package's own process over gRPC (tests/wire.py), with the
inputs encoded as the engine forwards a TypeScript/Go/YAML program's values; the others use the in-process
provider under mocks, where an Output can be made directly."""

import json
import re

import pulumi
import pytest

from n8n_platform import names, provider
from tests.harness import Recording, plain, redacted, run
from tests.test_component_schema import SCHEMA_FILE, WIRE_INPUTS
from tests.wire import construct, output_value, secret_value
from tools.offline import secret_leaves

KEY = "migrated-encryption-key-0123456789abcdef"
LICENSE = "license-0123-4567-89ab"
CLIENT_SECRET = "oidc-client-secret-0123456789"
VALUES = (KEY, LICENSE, CLIENT_SECRET)

KUBECONFIG_SETTINGS = {  # a cluster of one's own, no AWS: the fastest whole platform
    "environment": "dev", "namespace": "flows", "aws": {"region": "eu-west-1"},
    "cluster": {"kubeconfig": "~/.kube/config"},
    "database": {"engine": "patroni", "patroni": {"members": 2, "synchronous": False}},
    "redis": {"mode": "in-cluster"}, "workerPool": {"enabled": False},
    "n8n": {"worker": {"minReplicas": 2, "maxReplicas": 7}},
    "edge": {"hostname": "flows.example.com", "controller": "gateway", "acmeServer": "staging",
             "acmeEmail": "ops@example.com"},
}
MULTI_MAIN = {**KUBECONFIG_SETTINGS, "n8n": {"multiMain": True, "main": {"replicas": 2, "maxReplicas": 2}}}
OIDC = {"issuer": "https://idp.example.com", "authorizationEndpoint": "https://idp.example.com/a",
        "tokenEndpoint": "https://idp.example.com/t", "userInfoEndpoint": "https://idp.example.com/u",
        "clientId": "n8n"}


def in_clear(recording: Recording) -> list[str]:
    """Registrations whose inputs show one of the secret values outside a secret."""
    return [r.name for r in recording.resources if any(v in json.dumps(redacted(r.inputs)) for v in VALUES)]


def n8n_secret(recording: Recording) -> dict:
    (secret,) = [r for r in recording.resources if r.type == "kubernetes:core/v1:Secret"
                 and r.inputs["metadata"]["name"] == names.N8N_SECRET]
    return secret.inputs


# --- over gRPC: what arrives, and what is registered -------------------------------------------------------------

def test_a_secret_output_inside_settings_is_refused_naming_the_input_to_use():
    """A TypeScript/Go/YAML secret Output nested in settings arrives as a nested Output: the settings cannot be
    checked while the program runs."""
    done = construct("N8nPlatform", {"settings": {**KUBECONFIG_SETTINGS, "encryptionKey": output_value(KEY)}})
    assert "settings.encryptionKey must be a plain string, not an Output" in done.error
    assert "Pass a secret as the input 'encryptionKey'" in done.error and KEY not in done.error
    assert done.recording.resources == []


def test_a_secret_wrapper_inside_settings_makes_all_of_settings_secret_and_is_refused_naming_settings():
    """A client without output values sends the secret wrapper; Pulumi lifts it to the whole settings object,
    which then arrives as one secret Output (Pulumi's provider would report settings.environment missing)."""
    done = construct("N8nPlatform", {"settings": {**KUBECONFIG_SETTINGS, "encryptionKey": secret_value(KEY)}})
    assert done.error.startswith("settings: N8nPlatform: input 'settings' must be an object")
    assert "the inputs encryptionKey, licenseActivationKey, oidcClientSecret" in done.error
    assert "settings.environment" not in done.error and done.recording.resources == []


@pytest.mark.parametrize("wire", [output_value, secret_value], ids=["output value", "secret wrapper"])
def test_secret_inputs_from_the_wire_reach_the_n8n_secret_and_nothing_in_clear(wire):
    done = construct("N8nPlatform", {"settings": MULTI_MAIN, "encryptionKey": wire(KEY),
                                     "licenseActivationKey": wire(LICENSE)})
    assert done.error is None, done.error
    string_data = n8n_secret(done.recording)["stringData"]
    assert plain(string_data)[names.ENCRYPTION_KEY] == KEY and plain(string_data)[names.LICENSE_KEY] == LICENSE
    assert {KEY, LICENSE} <= set(secret_leaves(string_data))
    assert in_clear(done.recording) == [] and not any(v in json.dumps(done.state) for v in VALUES)
    generated = [r.name for r in done.recording.resources if r.type == "random:index/randomPassword:RandomPassword"]
    assert not any("encryption-key" in n for n in generated)  # the given key, not a generated one
    main = next(r for r in done.recording.resources if r.type == "kubernetes:apps/v1:Deployment"
                and r.inputs["metadata"]["name"] == "n8n-main")
    env = {e["name"] for e in plain(main.inputs)["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "N8N_LICENSE_ACTIVATION_KEY_FILE" in env and plain(main.inputs)["spec"]["replicas"] == 2


def test_whole_numbers_in_wire_settings_arrive_as_numbers_the_settings_accept():
    """The wire has one number type; Pulumi's provider keeps the float it meant to make an int."""
    done = construct("N8nPlatform", {"settings": KUBECONFIG_SETTINGS})
    assert done.error is None, done.error
    scaled = next(r for r in done.recording.resources if r.type == "kubernetes:keda.sh/v1alpha1:ScaledObject")
    assert scaled.inputs["spec"]["maxReplicaCount"] == 7 and scaled.inputs["spec"]["minReplicaCount"] == 2


def test_whole_numbers_from_the_wire_are_formatted_as_integers_in_annotations():
    """Before, Edge over gRPC wrote idle_timeout.timeout_seconds=300.0, which the ALB controller does not accept."""
    done = construct("Edge", WIRE_INPUTS["Edge"])
    assert done.error is None, done.error
    annotations = [r.inputs["metadata"]["annotations"] for r in done.recording.resources
                   if r.type == "kubernetes:networking.k8s.io/v1:Ingress"]
    attributes = annotations[0]["alb.ingress.kubernetes.io/load-balancer-attributes"]
    assert "idle_timeout.timeout_seconds=300," in attributes
    assert annotations[0]["alb.ingress.kubernetes.io/target-group-attributes"] == \
        "deregistration_delay.timeout_seconds=70"


def test_a_too_short_encryption_key_output_fails_the_update_naming_the_input_not_the_value():
    short = "s3cr3t-but-far-too-short"
    done = construct("N8nPlatform", {"settings": KUBECONFIG_SETTINGS, "encryptionKey": output_value(short)})
    assert "N8nPlatform: input 'encryptionKey' = (secret): must be at least 32 characters" in done.error
    assert short not in done.error
    assert not [r for r in done.recording.resources if r.type == "kubernetes:core/v1:Secret"]  # never written


# --- in process: the rules across keys with Outputs ---------------------------------------------------------------

def platform(settings: dict, recording: Recording | None = None, **secrets) -> Recording:
    """The platform through the component provider, ``secrets`` (camelCase input -> value) made secret Outputs
    inside the program; over EKS with its OIDC provider."""
    served = provider.provider()

    def program():
        inputs = {"settings": settings, **{k: pulumi.Output.secret(v) for k, v in secrets.items()}}
        if settings["cluster"].get("name"):
            inputs["oidc"] = WIRE_INPUTS["N8nPlatform"]["oidc"]
        served.construct("n8n", "n8n:index:N8nPlatform", inputs, pulumi.ResourceOptions())

    return run(program, recording=recording)


EKS_OIDC = {**WIRE_INPUTS["N8nPlatform"]["settings"]}
EKS_OIDC["edge"] = {**EKS_OIDC["edge"], "waf": True, "oidc": OIDC}


def test_on_eks_the_outputs_reach_the_oidc_secret_and_the_escrow_only_as_secrets():
    rec = platform(EKS_OIDC, oidcClientSecret=CLIENT_SECRET, encryptionKey=KEY)
    escrow = rec.one("aws:secretsmanager/secretVersion:SecretVersion", "n8n-secrets-escrow-version")
    escrowed = escrow.inputs["secretString"]
    assert secret_leaves(escrowed) == [KEY]
    (oidc_secret,) = [r for r in rec.resources if r.type == "kubernetes:core/v1:Secret"
                      and r.inputs["metadata"]["name"] == "n8n-edge-oidc"]
    assert CLIENT_SECRET in secret_leaves(oidc_secret.inputs) and in_clear(rec) == []
    ingresses = [m for m in rec.manifests() if m["kind"] == "Ingress"]
    assert any("n8n-edge-oidc" in json.dumps(m["metadata"]["annotations"]) for m in ingresses)  # the editor's


@pytest.mark.parametrize("settings, secrets, message", [
    (MULTI_MAIN, {}, "settings.n8n.multiMain = True: multi-main needs an Enterprise license"),
    (EKS_OIDC, {}, "settings.oidcClientSecret = None: edge.oidc needs its client secret"),
    (WIRE_INPUTS["N8nPlatform"]["settings"], {"oidcClientSecret": CLIENT_SECRET},
     "oidcClientSecret = '(secret)': only valid together with edge.oidc"),
    ({**KUBECONFIG_SETTINGS, "encryptionKey": KEY}, {"encryptionKey": KEY},
     "encryptionKey = '(secret)': given twice: pass it as the input encryptionKey or as settings.encryptionKey"),
], ids=["multiMain without license", "edge.oidc without secret", "secret without edge.oidc", "given twice"])
def test_the_rules_across_keys_hold_with_secret_outputs_before_anything_is_registered(settings, secrets, message):
    recording = Recording()
    with pytest.raises(Exception, match=re.escape(message)) as caught:
        platform(settings, recording, **secrets)
    assert recording.resources == [] and not any(v in str(caught.value) for v in VALUES)


def test_an_empty_license_output_fails_naming_the_input():
    with pytest.raises(Exception, match=re.escape("input 'licenseActivationKey' = (secret): must not be empty")):
        platform(MULTI_MAIN, licenseActivationKey="")


def test_a_plain_string_input_is_checked_at_once_without_showing_it():
    with pytest.raises(Exception, match=re.escape("encryptionKey = '(secret)': must be at least 32 characters")) \
            as caught:
        run(lambda: provider.provider().construct("n8n", "n8n:index:N8nPlatform", {
            "settings": KUBECONFIG_SETTINGS, "encryptionKey": "short-key"}, pulumi.ResourceOptions()))
    assert "short-key" not in str(caught.value)


@pytest.mark.parametrize("where", ["settings", "input"])
def test_plain_strings_still_work_in_settings_and_as_inputs(where):
    """The old path (plain text in settings, as settings.load() reads secret config) and a plain input."""
    settings = {**MULTI_MAIN, "encryptionKey": KEY, "licenseActivationKey": LICENSE} if where == "settings" \
        else MULTI_MAIN
    inputs = {"settings": settings} if where == "settings" else {
        "settings": settings, "encryptionKey": KEY, "licenseActivationKey": LICENSE}
    rec = run(lambda: provider.provider().construct("n8n", "n8n:index:N8nPlatform", inputs, pulumi.ResourceOptions()))
    string_data = n8n_secret(rec)["stringData"]
    assert plain(string_data)[names.ENCRYPTION_KEY] == KEY and plain(string_data)[names.LICENSE_KEY] == LICENSE
    assert in_clear(rec) == []


# --- the schema -------------------------------------------------------------------------------------------------

def test_the_schema_offers_the_secrets_as_secret_string_inputs():
    schema = json.loads(SCHEMA_FILE.read_text())
    platform_inputs = schema["resources"]["n8n:index:N8nPlatform"]["inputProperties"]
    for name in ("encryptionKey", "licenseActivationKey", "oidcClientSecret"):
        assert platform_inputs[name]["type"] == "string" and platform_inputs[name]["secret"] is True
        assert "plain" not in platform_inputs[name] and platform_inputs[name]["description"].startswith("Secret.")
        assert f"input `{name}`" in schema["types"]["n8n:index:Settings"]["properties"][name]["description"]
    for component, inputs in provider.SECRET_INPUTS.items():
        properties = schema["resources"][f"n8n:index:{component}"]["inputProperties"]
        assert sum(p.get("secret", False) for p in properties.values()) == len(inputs), component
    assert not any(p.get("secret") for p in schema["resources"]["n8n:index:N8nApp"]["inputProperties"].values())


def test_settings_built_by_hand_with_an_output_secret_are_refused_naming_the_input_to_use():
    import dataclasses

    from n8n_platform import N8nPlatform
    from tests.test_platform import dev_settings

    def program():
        s = dataclasses.replace(dev_settings(), oidc_client_secret=pulumi.Output.secret(CLIENT_SECRET))
        N8nPlatform("n8n", {"settings": s})

    with pytest.raises(Exception, match=re.escape("settings.oidcClientSecret must be a plain string, not an Output")
                       + ".*the input 'oidcClientSecret'"):
        run(program)
