# METADATA
# title: Data export
# description: |
#   `data.export` copies a dataset out of its bucket to `action.args.destination`. Data owners
#   approve: one outside production, two in production with escalation to their leads. CUI never
#   leaves for a destination outside data.data_export.internal_destinations; a bucket the gateway
#   does not know is treated as CUI in production.
package approvals.data_export

import data.approvals.lib

# METADATA
# title: Action is a data export
applies if input.action.name == "data.export"

# METADATA
# title: Destination is required
# description: An export without a named destination cannot be reviewed.
violations["export_destination_missing"] := "data.export needs action.args.destination (an s3:// or https:// URL)." if {
	not _destination
}

# METADATA
# title: Dataset must be a safe path segment
# description: The dataset becomes part of the granted S3 prefix, so wildcards and `..` are refused.
violations["export_dataset_invalid"] := "data.export needs action.args.dataset: letters, digits, . _ - / = only, no '..'." if {
	not _dataset_ok
}

# METADATA
# title: CUI stays inside
# description: |
#   Controlled Unclassified Information may only be exported to an approved internal destination.
#   The classification is compared case-insensitively and by prefix (`CUI//SP-PRVCY` is CUI).
violations["cui_external_destination"] := "CUI may only be exported to an approved internal destination." if {
	_cui_external
}

# METADATA
# title: Data export decision
# description: Violations deny; otherwise data-owner approval sized by environment and classification.
decision := lib.deny(violations) if {
	not _valid
} else := lib.require_approval(
	"prod_cui_export",
	"Production CUI export needs two data-owner approvals.",
	"data_export_prod",
	set(),
) if {
	lib.production
	_cui
} else := lib.require_approval(
	"prod_data_export",
	"Production data export needs two data-owner approvals.",
	"data_export_prod",
	set(),
) if {
	lib.production
} else := lib.require_approval(
	"nonprod_data_export",
	"Data export outside production needs one data-owner approval.",
	"data_export_nonprod",
	set(),
)

# No violation applies; decided without building the violations object (allocations per evaluation).
_valid if {
	_destination
	_dataset_ok
	not _cui_external
}

_cui_external if {
	_cui
	_destination
	not _internal_destination
}

_destination := d if {
	d := input.action.args.destination
	is_string(d)
	count(d) > 0
}

# Its own rule: `not f(input.x)` is undefined, not true, when input.x is missing.
_dataset_ok if lib.path_segment(input.action.args.dataset)

# CUI when the gateway vouches for it, when the agent claims it (a claim can only tighten), and
# for a resource the gateway does not know: an unknown bucket gets the strictest path.
_cui if startswith(upper(lib.vouched("data_classification")), "CUI")

_cui if startswith(upper(input.resource.properties.data_classification), "CUI")

_cui if not lib.known_resource

# Prefixes end with "/" (checked by a data test) so `s3://archive/` never matches `s3://archive-evil/`.
_internal_destination if {
	not contains(_destination, "..")
	some prefix in data.data_export.internal_destinations
	startswith(_destination, prefix)
}
