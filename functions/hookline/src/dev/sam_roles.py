"""Translates a SAM template to CloudFormation with the pinned aws-sam-translator,
the way `sam deploy` does, and prints each function's role: its inline policy
statements and managed policy ARNs, with intrinsics left for hookline dev to
resolve. Reads the template path from argv[1]; prints JSON."""
import json
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    """Policies given by a managed policy's name would need IAM to look up."""

    def load(self):
        return {}


with open(sys.argv[1], encoding="utf-8") as f:
    sam = yaml_parse(f.read())
# `sam deploy` uploads the code first; the translator wants that S3 address.
for name, res in sam.get("Resources", {}).items():
    if res.get("Type") == "AWS::Serverless::Function":
        res.setdefault("Properties", {})["CodeUri"] = f"s3://hookline-local/{name}.zip"
params = {k: v["Default"] for k, v in sam.get("Parameters", {}).items() if "Default" in v}
params.update({"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws"})
cfn = transform(sam, params, NoManagedPolicies())
resources = cfn["Resources"]
roles = {}
for name, res in resources.items():
    if res["Type"] != "AWS::Lambda::Function":
        continue
    role = res["Properties"].get("Role", {})
    role_id = role.get("Fn::GetAtt", [None])[0] if isinstance(role, dict) else None
    props = resources.get(role_id, {}).get("Properties", {}) if role_id else {}
    statements = []
    for p in props.get("Policies", []):
        doc = p.get("PolicyDocument", {})
        st = doc.get("Statement", [])
        statements.extend(st if isinstance(st, list) else [st])
    roles[name] = {
        "role": role_id,
        "managed": props.get("ManagedPolicyArns", []),
        "statements": statements,
    }
json.dump(roles, sys.stdout)
