/** Visibility rules; they live with the other eligibility rules in eligibility.ts. */
export { AUDITORS_GROUP, canReadAudit, canView, isAuditor } from './eligibility.ts';
