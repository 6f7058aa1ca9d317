/**
 * What the three framework examples share: the action a "read a payroll report" tool asks the
 * gateway for. With the default policy pack, a read on a production bucket needs one approval
 * from the platform group; the agent acts for Alice, who therefore cannot approve it.
 */
import type { ActionRequestInput } from '../client/index.ts';

export interface ReportArgs {
  readonly report: string;
}

export function describeReportRead(args: ReportArgs, agent: string): ActionRequestInput {
  return {
    action: { name: 'reports.read', args: { report: args.report } },
    resource: { type: 'aws:s3:bucket', id: 'arn:aws:s3:::payroll-prod' },
    context: {
      justification: 'Alice asked for the report in chat',
      on_behalf_of: 'user:alice@example.gov',
      agent: { name: agent },
    },
  };
}

/** The example's stand-in for the real work, which runs only once the gateway approved. */
export type ReadReport = (report: string) => Promise<string>;
