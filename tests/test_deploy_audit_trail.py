"""What the stack keeps for the assessor, checked offline in deploy/edge-bridge.yaml: every
line reaches a log group kept a year or more (never dropped silently, every dropped count
alarmed), and config versions sit in a locked-down bucket that only the config task writes
versions to and only the change process writes desired configs to (separation of duties,
PCI DSS 1.2.8)."""

from __future__ import annotations

from bridge.metrics import NAMESPACE
from bridge.stdout import DROPPED_LINES
from tests.artefacts import DAEMONS
from tests.cfn import (
    SAMPLE,
    container_settings,
    containers,
    metric_filters,
    of_type,
    ref,
    resolve,
    template,
)


def test_awslogs_never_drops_a_line_silently() -> None:
    """non-blocking mode drops lines when its buffer fills and counts nothing: blocking mode,
    with the daemons' own counted stdout buffer in front (bridge/stdout.py), whose refusals
    each daemon reports as an EMF metric that an alarm watches."""
    t = template()
    for logical, _, container in containers(t):
        options = container["LogConfiguration"]["Options"]
        assert options["mode"] == "blocking", logical
        assert "max-buffer-size" not in options, f"{logical}: a non-blocking setting"
    watched = {
        dimension["Value"]
        for alarm in of_type(t, "AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("MetricName") == DROPPED_LINES
        and alarm["Properties"]["Namespace"] == NAMESPACE
        for dimension in alarm["Properties"]["Dimensions"]
        if dimension["Name"] == "service"
    }
    assert watched == set(DAEMONS), "every daemon's dropped lines raise an alarm"


def test_logs_kept_a_year_and_watched() -> None:
    t = template()
    (group,) = of_type(t, "AWS::Logs::LogGroup").values()
    assert group["DeletionPolicy"] == "Retain"
    retention = t["Parameters"][ref(group["Properties"]["RetentionInDays"])]
    assert min(retention["AllowedValues"]) >= 365 and retention["Default"] >= 365
    filters = metric_filters(t)
    alarms = of_type(t, "AWS::CloudWatch::Alarm")
    watched = {a["Properties"].get("MetricName") for a in alarms.values()}
    for f in filters:
        assert f.metric in watched, f"no alarm on {f.metric}"
    events = {f.event for f in filters}
    assert {"config.drift", "metrics"} <= events
    fields = {(f.service, field) for f in filters for field in f.fields}
    assert ("syslog", "kernel_drops") in fields and ("ntp", "synchronised") in fields
    for alarm in alarms.values():
        assert ref(alarm["Properties"]["AlarmActions"][0]) == "AlarmTopicArn"


def test_config_store_bucket_locked_down_and_only_the_config_task_may_use_it() -> None:
    t = template()
    bucket = t["Resources"]["ConfigBucket"]["Properties"]
    assert bucket["VersioningConfiguration"]["Status"] == "Enabled"
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    (policy,) = of_type(t, "AWS::S3::BucketPolicy").values()
    (deny,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"]["Bool"]["aws:SecureTransport"] == "false"
    assert len(deny["Resource"]) == 2, "the bucket and its objects"

    tasks = {k: (p, c) for k, p, c in containers(t)}
    for logical, (task, container) in tasks.items():
        command, s = container_settings(container)
        if command != "config":
            assert "TaskRoleArn" not in task, f"{logical}: needs no AWS credentials"
            continue
        role = t["Resources"][task["TaskRoleArn"]["Fn::GetAtt"][0]]["Properties"]
        statements = [st for p in role["Policies"] for st in p["PolicyDocument"]["Statement"]]
        prefixes = {url.split("/", 3)[3] for url in (s.store, s.desired) if url.startswith("s3://")}
        assert prefixes == {"configs", "desired"}
        bucket_arn = f"arn:aws:s3:::{SAMPLE['ConfigBucket']}"
        for st in statements:
            assert st["Effect"] == "Allow"
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            for action in actions:
                assert action.startswith("s3:") and "*" not in action, action
                assert "Delete" not in action, "versions are never deleted by the uploader"
            resource = resolve(st["Resource"], {**SAMPLE, "ConfigBucket.Arn": bucket_arn})
            if resource == {"Fn::GetAtt": ["ConfigBucket", "Arn"]}:
                assert actions == ["s3:ListBucket"]
                allowed = st["Condition"]["StringLikeIfExists"]["s3:prefix"]
                assert {a.split("/")[0] for a in allowed} == prefixes
            else:
                prefix = resource.removeprefix(bucket_arn + "/").split("/")[0]
                assert resource == f"{bucket_arn}/{prefix}/*" and prefix in prefixes
                if prefix == "desired":
                    assert actions == ["s3:GetObject"], "desired configs are read-only"


def test_only_the_change_process_writes_desired_configs() -> None:
    """Separation of duties: desired configs are written by the publisher role alone, under
    desired/ alone; the uploader writes only versions; nothing may write anywhere else."""
    t = template()
    bucket_arn = f"arn:aws:s3:::{SAMPLE['ConfigBucket']}"
    writes: dict[str, set[str]] = {}
    for logical, role in of_type(t, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for st in policy["PolicyDocument"]["Statement"]:
                if not isinstance(st, dict) or "Effect" not in st:
                    continue  # an Fn::If around a statement (the secret) writes nothing
                actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                if not {"s3:PutObject", "s3:DeleteObject"} & set(actions):
                    continue
                resource = resolve(st["Resource"], {**SAMPLE, "ConfigBucket.Arn": bucket_arn})
                assert resource.startswith(bucket_arn + "/"), f"{logical} writes {resource}"
                writes.setdefault(logical, set()).add(resource.removeprefix(bucket_arn + "/"))
    assert writes == {"ConfigTaskRole": {"configs/*"}, "DesiredConfigPublisherRole": {"desired/*"}}
    publisher = t["Resources"]["DesiredConfigPublisherRole"]
    assert publisher["Condition"] == "HasDesiredConfigPublisher"
    (trust,) = publisher["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert ref(trust["Principal"]["AWS"]) == "DesiredConfigPublisherArn"
