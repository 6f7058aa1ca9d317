# METADATA
# title: Action-Level Approvals decision
# description: |
#   Entrypoint `approvals/decision` (docs/design.md#42-policy-contract). Input hygiene first, then exactly one area
#   decides, chosen in a fixed order so an action never matches two areas: secrets.read and
#   data.export before the generic read-only suffixes, read-only before the iam./infra. families
#   (iam.roles.list is a read). Anything else is an unknown action and denied. Whether enough
#   approvers remain after the exclusions is checked by the engine (functions/policy) for every
#   pack, since it needs only the decision and data.groups.
package approvals

import data.approvals.data_export
import data.approvals.hygiene
import data.approvals.infra_change
import data.approvals.lib
import data.approvals.privilege_escalation
import data.approvals.read_only
import data.approvals.secrets_read

# METADATA
# title: Decision
# description: The one object the gateway reads; always defined, deny unless a rule says otherwise.
# entrypoint: true
decision := lib.deny(hygiene.violations) if {
	not hygiene.clean
} else := secrets_read.decision if {
	secrets_read.applies
} else := data_export.decision if {
	data_export.applies
} else := read_only.decision if {
	read_only.applies
} else := privilege_escalation.decision if {
	privilege_escalation.applies
} else := infra_change.decision if {
	infra_change.applies
} else := lib.deny({"unknown_action": "No rule covers this action; ask the security team to add one."})
