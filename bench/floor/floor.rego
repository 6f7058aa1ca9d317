# METADATA
# title: Floor of a wasm policy decision
# description: |
#   A decision that reads nothing: what bench/policy.bench.ts times with it is what every wasm
#   evaluation pays whatever the policy says (parsing the input inside the module, serialising a
#   small result), so the pack's own share of opa_eval shows beside it.
package floor

decision := {"outcome": "deny", "reasons": [{"code": "floor", "message": "A constant decision."}]}
