# METADATA
# title: Infrastructure change
# description: |
#   Names under data.infra_change.prefixes (`infra.`). In production the platform team approves
#   and platform leads are brought in if nobody answers in time; outside production it is allowed.
package approvals.infra_change

import data.approvals.lib

# METADATA
# title: Action changes infrastructure
applies if {
	some prefix in data.infra_change.prefixes
	startswith(input.action.name, prefix)
}

# METADATA
# title: Infrastructure change decision
# description: One platform approval in production, with escalation; allowed elsewhere.
decision := lib.require_approval(
	"prod_infra_change",
	"Production infrastructure change needs one platform approval.",
	"infra_change_prod",
	set(),
) if {
	lib.production
} else := lib.allow(
	"nonprod_infra_change",
	"Infrastructure change outside production.",
)
