package approvals.data_export_test

import data.approvals.data_export
import data.approvals.testing

# The gateway vouches for the same attributes the agent states.
_export(args, properties) := object.union(
	object.remove(testing.base, ["action", "resource", "vouched"]),
	{
		"action": {"name": "data.export", "args": args},
		"resource": {"type": "aws:s3:bucket", "id": "arn:aws-us-gov:s3:::fin-ledger", "properties": properties},
		"vouched": {"resource": testing.vouched_resource(properties)},
	},
)

_internal := {"dataset": "ledger_2026q2", "destination": "s3://agency-internal-archive/fin/"}

_external := {"dataset": "ledger_2026q2", "destination": "s3://agency-drop/fin/"}

test_nonprod_export_needs_one_data_owner if {
	d := data_export.decision with input as _export(_external, {"environment": "dev"})
	d.outcome == "require_approval"
	testing.codes(d) == {"nonprod_data_export"}
	d.approval.groups == ["data-owners"]
	d.approval.min_approvals == 1
	not d.approval.escalation_groups
}

test_prod_export_needs_two_data_owners_with_escalation_to_leads if {
	d := data_export.decision with input as _export(_external, {"environment": "prod"})
	d.outcome == "require_approval"
	testing.codes(d) == {"prod_data_export"}
	d.approval.min_approvals == 2
	d.approval.escalation_groups == ["data-owner-leads"]
	d.approval.escalate_after_seconds < d.approval.timeout_seconds
}

test_prod_cui_export_to_internal_destination_needs_two_data_owners if {
	d := data_export.decision with input as _export(_internal, {"environment": "prod", "data_classification": "CUI"})
	d.outcome == "require_approval"
	testing.codes(d) == {"prod_cui_export"}
	d.approval.min_approvals == 2
}

test_nonprod_cui_export_to_internal_destination_needs_one_data_owner if {
	d := data_export.decision with input as _export(_internal, {"environment": "test", "data_classification": "CUI"})
	testing.codes(d) == {"nonprod_data_export"}
}

test_cui_export_to_external_destination_is_denied if {
	d := data_export.decision with input as _export(_external, {"environment": "dev", "data_classification": "CUI"})
	d.outcome == "deny"
	testing.codes(d) == {"cui_external_destination"}
}

test_cui_marking_is_matched_case_insensitively_and_by_prefix if {
	d := data_export.decision with input as _export(_external, {"environment": "prod", "data_classification": "cui//sp-prvcy"})
	testing.codes(d) == {"cui_external_destination"}
}

test_lookalike_internal_bucket_is_external if {
	args := {"dataset": "ledger_2026q2", "destination": "s3://agency-internal-archive-evil/fin/"}
	d := data_export.decision with input as _export(args, {"environment": "prod", "data_classification": "CUI"})
	testing.codes(d) == {"cui_external_destination"}
}

test_path_traversal_out_of_internal_destination_is_external if {
	args := {"dataset": "ledger_2026q2", "destination": "s3://agency-internal-archive/../agency-drop/"}
	d := data_export.decision with input as _export(args, {"environment": "prod", "data_classification": "CUI"})
	testing.codes(d) == {"cui_external_destination"}
}

test_missing_destination_is_denied if {
	d := data_export.decision with input as _export({"dataset": "ledger_2026q2"}, {"environment": "dev"})
	testing.codes(d) == {"export_destination_missing"}
}

test_empty_destination_is_denied if {
	d := data_export.decision with input as _export({"dataset": "ledger_2026q2", "destination": ""}, {"environment": "dev"})
	testing.codes(d) == {"export_destination_missing"}
}

test_wildcard_dataset_is_denied if {
	args := {"dataset": "*", "destination": "s3://agency-internal-archive/fin/"}
	d := data_export.decision with input as _export(args, {"environment": "dev"})
	testing.codes(d) == {"export_dataset_invalid"}
}

test_every_violation_is_reported if {
	d := data_export.decision with input as _export({}, {"environment": "dev", "data_classification": "CUI"})
	testing.codes(d) == {"export_destination_missing", "export_dataset_invalid"}
}

test_internal_destinations_end_with_a_slash if {
	every prefix in data.data_export.internal_destinations {
		endswith(prefix, "/")
	}
}
