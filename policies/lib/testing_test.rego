# METADATA
# title: Test fixtures
# description: Requests shared by the pack's tests; one realistic baseline and small edits of it.
package approvals.testing

# A production CUI export to an internal archive on behalf of alice: valid in every respect.
base := {
	"subject": {"id": "agent:demo-exporter", "type": "agent"},
	"action": {
		"name": "data.export",
		"args": {"dataset": "ledger_2026q2", "destination": "s3://agency-internal-archive/fin/"},
	},
	"resource": {
		"type": "aws:s3:bucket",
		"id": "arn:aws-us-gov:s3:::fin-ledger-prod",
		"properties": {"environment": "prod", "data_classification": "CUI"},
	},
	"context": {"justification": "Quarterly reconciliation, CHG-4821", "on_behalf_of": "user:alice@example.gov"},
	"now": "2026-05-01T12:00:00Z",
	"vouched": {"resource": vouched_resource({"environment": "prod", "data_classification": "CUI"})},
}

# What the gateway sets for a resource its inventory knows with these attributes.
vouched_resource(attributes) := {"known": true, "source": "inventory", "match": "*", "attributes": attributes}

# What the gateway sets for a resource no trusted source knows.
unknown_resource := {"known": false, "source": "none", "attributes": {}}

# base with one top-level member replaced as a whole (object.union alone would merge into it).
# Callers always qualify it as testing.replace, so the builtin stays reachable everywhere.
# regal ignore:rule-shadows-builtin
replace(key, value) := object.union(object.remove(base, [key]), {key: value})

# base asking for `name` with `args` on a resource of `type`/`id` that the gateway vouches is in
# `environment`, and that the agent also claims is in `environment`.
request(name, args, type, id, environment) := claimed(name, args, type, id, environment, {"environment": environment})

# base asking for `name` with `args` on a resource the gateway vouches is in `environment`, with
# the agent claiming `properties`.
claimed(name, args, type, id, environment, properties) := object.union(
	object.remove(base, ["action", "resource", "vouched"]),
	{
		"action": {"name": name, "args": args},
		"resource": {"type": type, "id": id, "properties": properties},
		"vouched": {"resource": vouched_resource({"environment": environment})},
	},
)

# The reason codes of a decision, as a set.
codes(decision) := {r.code | some r in decision.reasons}
