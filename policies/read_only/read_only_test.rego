package approvals.read_only_test

import data.approvals.read_only
import data.approvals.testing

test_suffixes_and_listed_actions_are_read_only if {
	read_only.applies with input as {"action": {"name": "s3.objects.read"}}
	read_only.applies with input as {"action": {"name": "ec2.instances.list"}}
	read_only.applies with input as {"action": {"name": "rds.clusters.describe"}}
	read_only.applies with input as {"action": {"name": "logs.tail"}}
}

test_other_verbs_are_not_read_only if {
	not read_only.applies with input as {"action": {"name": "s3.objects.delete"}}
	not read_only.applies with input as {"action": {"name": "s3.reader.write"}}
}

test_read_only_outside_production_is_allowed_without_grant if {
	d := read_only.decision with input as testing.request("s3.objects.list", {}, "aws:s3:bucket", "arn:aws-us-gov:s3:::fin-dev", "dev")
	d.outcome == "allow"
	testing.codes(d) == {"nonprod_read_only"}
	d.grant == {"type": "none"}
}

test_read_only_in_production_needs_one_platform_approval if {
	d := read_only.decision with input as testing.request("s3.objects.list", {}, "aws:s3:bucket", "arn:aws-us-gov:s3:::fin-prod", "prod")
	d.outcome == "require_approval"
	testing.codes(d) == {"prod_read_only"}
	d.approval.groups == ["platform"]
	d.approval.min_approvals == 1
}
