# Attributes with provenance: for every action family of the pack, the same request on a
# production resource yields the same decision whatever environment the agent claims (prod, dev,
# sandbox, none), and a resource the gateway does not know yields the family's strictest path.
package approvals_provenance_test

import data.approvals
import data.approvals.testing

_stack := "arn:aws-us-gov:cloudformation:us-gov-west-1:123456789012:stack/payments-prod/1"

_bucket := "arn:aws-us-gov:s3:::fin-ledger-prod"

_secret := "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:db"

_role := "arn:aws-us-gov:iam::123456789012:role/app"

_internal := {"dataset": "ledger_2026q2", "destination": "s3://agency-internal-archive/fin/"}

# One request per action family, each with the reason code it gets on a production resource.
_families := {
	"read_only": {
		"name": "logs.describe", "args": {}, "type": "aws:logs:group", "id": _stack,
		"prod": "prod_read_only",
	},
	"data_export": {
		"name": "data.export", "args": _internal, "type": "aws:s3:bucket", "id": _bucket,
		"prod": "prod_data_export",
	},
	"privilege_escalation": {
		"name": "iam.attach_role_policy", "args": {}, "type": "aws:iam:role", "id": _role,
		"prod": "privilege_escalation",
	},
	"infra_change": {
		"name": "infra.stack.update", "args": {}, "type": "aws:cloudformation:stack", "id": _stack,
		"prod": "prod_infra_change",
	},
	"secrets_read": {
		"name": "secrets.read", "args": {}, "type": "aws:secretsmanager:secret", "id": _secret,
		"prod": "secrets_read",
	},
}

_claims := [{"environment": "prod"}, {"environment": "dev"}, {"environment": "sandbox"}, {}]

_on_production(family, claim) := testing.claimed(family.name, family.args, family.type, family.id, "prod", claim)

_unknown(family, claim) := object.union(
	object.remove(_on_production(family, claim), ["vouched"]),
	{"vouched": {"resource": testing.unknown_resource}},
)

test_a_claim_never_loosens_a_decision_on_a_production_resource if {
	every _, family in _families {
		baseline := approvals.decision with input as _on_production(family, {})
		testing.codes(baseline) == {family.prod}
		every claim in _claims {
			d := approvals.decision with input as _on_production(family, claim)
			d == baseline
		}
	}
}

test_an_unknown_resource_gets_the_strictest_path_of_its_family if {
	every _, family in _families {
		every claim in _claims {
			d := approvals.decision with input as _unknown(family, claim)
			testing.codes(d) == {_strictest[family.name]}
		}
	}
}

# An unknown bucket is CUI in production; an internal destination then needs two data owners.
_strictest := {
	"logs.describe": "prod_read_only",
	"data.export": "prod_cui_export",
	"iam.attach_role_policy": "privilege_escalation",
	"infra.stack.update": "prod_infra_change",
	"secrets.read": "secrets_read",
}

test_an_unknown_bucket_never_exports_to_an_external_destination if {
	req := object.union(_unknown(_families.data_export, {"environment": "sandbox"}), {"action": {"args": {"destination": "s3://agency-drop/fin/"}}})
	testing.codes(approvals.decision) == {"cui_external_destination"} with input as req
}

test_the_agent_claim_that_was_auto_allowed_is_now_reviewed if {
	# agent:demo-ops on payments-prod claiming sandbox: previously allowed with an UpdateStack grant.
	req := testing.claimed("infra.stack.update", {}, "aws:cloudformation:stack", _stack, "prod", {"environment": "sandbox"})
	d := approvals.decision with input as object.union(req, {"subject": {"id": "agent:demo-ops", "type": "agent"}})
	d.outcome == "require_approval"
	testing.codes(d) == {"prod_infra_change"}
}

test_a_vouched_cui_classification_holds_without_any_claim if {
	req := object.union(
		testing.claimed("data.export", {"dataset": "d", "destination": "s3://agency-drop/x/"}, "aws:s3:bucket", _bucket, "dev", {}),
		{"vouched": {"resource": testing.vouched_resource({"environment": "dev", "data_classification": "CUI//SP-PRVCY"})}},
	)
	testing.codes(approvals.decision) == {"cui_external_destination"} with input as req
}

test_a_claimed_cui_classification_tightens_a_resource_the_gateway_calls_unclassified if {
	req := testing.claimed(
		"data.export", {"dataset": "d", "destination": "s3://agency-drop/x/"},
		"aws:s3:bucket", _bucket, "dev", {"data_classification": "cui"},
	)
	testing.codes(approvals.decision) == {"cui_external_destination"} with input as req
	unclaimed := testing.claimed("data.export", {"dataset": "d", "destination": "s3://agency-drop/x/"}, "aws:s3:bucket", _bucket, "dev", {})
	testing.codes(approvals.decision) == {"nonprod_data_export"} with input as unclaimed
}
