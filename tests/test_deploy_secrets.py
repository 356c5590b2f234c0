"""The secrets of deploy/edge-bridge.yaml: which task reads which, through which grant, with
which key, and what the NTP task is told to enforce with its keys.

A task reads its secrets through the execution role when it starts; a secret the role may not
read, or a customer managed key it may not decrypt with, stops every task with
ResourceInitializationError and the service rolls back. So the lists that must agree (the
containers' Secrets, the role's GetSecretValue resources, the key grant's encryption contexts)
are compared under every combination of the parameters that change them, and what the NTP
container gets is read by the daemon's own parser and key check.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest

from bridge.settings import env_name
from ntp_proxy.server import read_keys
from tests.cfn import (
    MADE,
    container_settings,
    containers,
    deployed,
    of_type,
    refused_by_rules,
    resolve,
    secrets_of,
    template,
)

ACCOUNT = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:"
GIVEN = {
    "UploadCredentialsSecretArn": ACCOUNT + "edge/upload-XyZ789",
    "ReaderCredentialsSecretArn": ACCOUNT + "edge/reader-QrS456",
    "NtpKeysSecretArn": ACCOUNT + "edge/ntp-keys-AbC123",
}
# What the stack reads when a secret parameter is empty: the one it creates, or none (NTP keys).
INSTEAD = {
    "UploadCredentialsSecretArn": MADE["UploadCredentials"],
    "ReaderCredentialsSecretArn": MADE["ReaderCredentials"],
    "NtpKeysSecretArn": None,
}
KMS_KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [st for p in role["Properties"]["Policies"] for st in p["PolicyDocument"]["Statement"]]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def secret_choices() -> list[dict[str, str]]:
    """Each secret given or left to the stack: every combination."""
    return [
        {name: GIVEN[name] if given else "" for name, given in zip(GIVEN, choice, strict=True)}
        for choice in itertools.product([False, True], repeat=len(GIVEN))
    ]


@pytest.mark.parametrize("kms_key", ["", KMS_KEY], ids=["aws-managed-key", "own-kms-key"])
@pytest.mark.parametrize(
    "secrets", secret_choices(), ids=lambda s: "+".join(k[:4] for k in s if s[k]) or "none"
)
def test_the_execution_role_reads_and_decrypts_exactly_the_secrets_the_tasks_get(
    secrets: dict[str, str], kms_key: str
) -> None:
    t, values = deployed({**secrets, "SecretsKmsKeyArn": kms_key})
    wanted = {value or INSTEAD[name] for name, value in secrets.items()} - {None}
    read: set[str] = set()
    execution_roles = set()
    for _, task, container in containers(t):
        execution_roles.add(task["ExecutionRoleArn"]["Fn::GetAtt"][0])
        read |= {resolve(secret["ValueFrom"], values) for secret in secrets_of(container)}
    assert read == wanted, "each secret given, or made by the stack, reaches its container"
    (execution_role,) = execution_roles

    may_read: dict[str, set[str]] = {}
    decrypts = []
    for logical, role in of_type(t, "AWS::IAM::Role").items():
        for st in statements(role):
            actions = as_list(st["Action"])
            if any(a.startswith("secretsmanager:") for a in actions):
                assert st["Effect"] == "Allow" and actions == ["secretsmanager:GetSecretValue"]
                resources = {resolve(r, values) for r in as_list(st["Resource"])}
                may_read.setdefault(logical, set()).update(resources)
            if any(a.startswith("kms:") for a in actions):
                decrypts.append((logical, st))
    assert may_read == {execution_role: wanted}, "the execution role reads these, no more"
    if not kms_key:
        assert decrypts == [], "the aws/secretsmanager key needs no grant"
        return
    ((role, grant),) = decrypts
    assert role == execution_role
    assert grant["Effect"] == "Allow" and as_list(grant["Action"]) == ["kms:Decrypt"]
    assert resolve(grant["Resource"], values) == kms_key, "this key alone"
    (equals,) = grant["Condition"].values()
    assert list(grant["Condition"]) == ["StringEquals"] and set(equals) == {
        "kms:ViaService",
        "kms:EncryptionContext:SecretARN",
    }
    assert resolve(equals["kms:ViaService"], values) == "secretsmanager.eu-west-1.amazonaws.com"
    contexts = {resolve(arn, values) for arn in as_list(equals["kms:EncryptionContext:SecretARN"])}
    assert contexts == wanted, "decrypts through Secrets Manager for the secrets read, no more"


def test_secrets_and_the_key_are_given_by_full_arn() -> None:
    """IAM grants GetSecretValue on a secret's full ARN (with the six characters Secrets
    Manager adds) and kms:Decrypt on the key's ARN, and Secrets Manager names a secret by its
    full ARN in the key's encryption context: a bare name, an alias or a key ID would grant
    nothing and every task would fail at start, so the parameters refuse them."""
    parameters = template()["Parameters"]
    for name, arn in [*GIVEN.items(), ("SecretsKmsKeyArn", KMS_KEY)]:
        assert parameters[name]["Default"] == "", name
        pattern = re.compile(parameters[name]["AllowedPattern"])
        assert pattern.match("") and pattern.match(arn), name
        assert pattern.match(arn.replace(":aws:", ":aws-us-gov:")), name
    pattern = re.compile(parameters["NtpKeysSecretArn"]["AllowedPattern"])
    assert not pattern.match("edge/ntp-keys"), "a name alone"
    assert not pattern.match(ACCOUNT + "edge/ntp-keys"), "an ARN without the suffix"
    pattern = re.compile(parameters["SecretsKmsKeyArn"]["AllowedPattern"])
    assert pattern.match(KMS_KEY.replace("key/", "key/mrk-")), "a multi-Region key"
    for refused in [
        "arn:aws:kms:eu-west-1:123456789012:alias/edge-secrets",
        "1234abcd-12ab-34cd-56ef-1234567890ab",
        GIVEN["NtpKeysSecretArn"],
    ]:
        assert not pattern.match(refused), refused


@pytest.mark.parametrize("keys", ["", GIVEN["NtpKeysSecretArn"]], ids=["no-keys", "keys"])
@pytest.mark.parametrize("require", ["false", "true"])
def test_require_auth_reaches_the_proxy_and_the_stack_refuses_it_without_keys(
    require: str, keys: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """NtpRequireAuth becomes the proxy's --require-auth; without keys the proxy would refuse
    to start (no router could be answered), so a rule refuses that stack before anything is
    created, rather than a deployment that rolls back."""
    t = template()
    parameter = t["Parameters"]["NtpRequireAuth"]
    assert parameter["Default"] == "false" and set(parameter["AllowedValues"]) == {"true", "false"}
    given = {"NtpRequireAuth": require, "NtpKeysSecretArn": keys}
    refused = refused_by_rules(t, given)
    deployed_t, values = deployed(given)
    tasks = {c["Command"][0]: c for _, _, c in containers(deployed_t)}
    for command, container in tasks.items():
        names = {e["Name"] for e in container["Environment"]}
        assert (env_name("require_auth") in names) == (command == "ntp"), command
    _, settings = container_settings(tasks["ntp"], values)
    assert settings.require_auth is (require == "true")
    assert bool(settings.keys_text) is bool(keys)
    try:
        read_keys(settings, "edge-bridge ntp")
        starts = True
    except SystemExit as exc:
        assert exc.code == 2
        starts = False
    assert "--require-auth needs --keys" in capsys.readouterr().err or starts
    assert bool(refused) is not starts, "the rule refuses exactly what the proxy would"
    for description in refused:
        assert "NtpKeysSecretArn" in description and "NtpRequireAuth" in description


def test_ntp_keys_come_from_one_optional_secret_only_the_ntp_task_gets() -> None:
    """Fargate has no host files and the root is read-only: the key file's text comes from a
    Secrets Manager secret as EDGE_BRIDGE_KEYS_TEXT, to the NTP container alone; without one
    the stack still deploys and the proxy answers unsigned, as before."""
    for keys in ["", GIVEN["NtpKeysSecretArn"]]:
        t, values = deployed({"NtpKeysSecretArn": keys})
        for _, _, container in containers(t):
            command, settings = container_settings(container, values)
            given = {
                secret["Name"]: resolve(secret["ValueFrom"], values)
                for secret in secrets_of(container)
            }
            if command != "ntp" or not keys:
                assert env_name("keys_text") not in given, command
                continue
            assert given == {env_name("keys_text"): keys}
            assert settings.keys_text and not settings.keys and not settings.require_auth
