/**
 * The SDK writes its wire types out (its package must not depend on zod or server code); this file
 * keeps them equal to the gateway's zod schemas. It has no run-time part: `tsc` (in `npm test`)
 * fails here when a schema and its SDK type differ, naming the type.
 */
import type { z } from 'zod';
import type * as sdk from '../../client/index.ts';
import type * as schemas from '../../functions/http/schemas.ts';

/** Exact equality (not mere assignability): optional vs required and extra fields all count. */
type Equal<X, Y> = (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? true : false;
/** Flattens intersections so `A & B` and the same fields written out compare equal. */
type Flat<T> = T extends readonly (infer E)[]
  ? Flat<E>[]
  : T extends object
    ? { [K in keyof T]: Flat<T[K]> }
    : T;
type Same<X, Y> = Equal<Flat<X>, Flat<Y>>;
type Assert<T extends true> = T;

export type Checks = [
  Assert<Same<sdk.ActionRequestInput, z.input<typeof schemas.ActionRequestBody>>>,
  Assert<Same<sdk.ActionRequestView, z.infer<typeof schemas.ActionRequestView>>>,
  Assert<Same<sdk.ActionRequestList, z.infer<typeof schemas.ActionRequestList>>>,
  Assert<Same<sdk.AuditView, z.infer<typeof schemas.AuditView>>>,
  Assert<Same<sdk.AuditEventView, z.infer<typeof schemas.AuditEventView>>>,
  Assert<Same<sdk.GrantView, z.infer<typeof schemas.GrantView>>>,
  Assert<Same<sdk.EvaluationView, z.infer<typeof schemas.EvaluationView>>>,
  Assert<Same<sdk.DecisionView, z.infer<typeof schemas.DecisionView>>>,
  Assert<Same<sdk.WhoamiView, z.infer<typeof schemas.WhoamiView>>>,
  Assert<Same<sdk.ErrorBody, z.infer<typeof schemas.ErrorView>>>,
  Assert<Same<sdk.NarrowTo, z.input<typeof schemas.NarrowToBody>>>,
  Assert<Same<sdk.VoteDecision, z.infer<typeof schemas.DecisionBody>['decision']>>,
  Assert<Same<sdk.OutcomeStatus, z.infer<typeof schemas.OutcomeBody>['status']>>,
  Assert<Same<sdk.RequestStatus, z.infer<typeof schemas.ActionRequestView>['status']>>,
];
