/**
 * The approval state machine exactly as `cdk synth` renders it, created in moto: the definition is
 * taken from the synthesized template, its intrinsics resolved the way CloudFormation would (the
 * partition, the workflow function's ARN in moto's account), then prepared for the Lambda driver.
 */
import { CreateStateMachineCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { MOTO_ACCOUNT_ID, TEST_REGION, uniqueName } from '../../harness/index.ts';
import {
  COMMERCIAL_REGION,
  renderDefinition,
  type StateMachineDefinition,
  type Synthesized,
  type SynthOptions,
  synthGateway,
} from '../../slow/cdk/synth.ts';
import { prepareDefinitionForDriver } from './lambda-driver.ts';

export interface MotoStateMachine {
  readonly stateMachineArn: string;
  /** What the workflow function's ARN resolved to (moto never runs it; the driver does). */
  readonly functionArn: string;
  /** The definition as synthesized (intrinsics resolved), before the driver's preparation. */
  readonly synthesized: StateMachineDefinition;
  readonly synth: Synthesized;
}

export async function createSynthesizedStateMachine(
  sfn: SFNClient,
  stackProps?: SynthOptions['stackProps'],
): Promise<MotoStateMachine> {
  const synth = synthGateway({ region: COMMERCIAL_REGION, ...(stackProps ? { stackProps } : {}) });
  const workflowLogicalId = synth.stack.getLogicalId(
    synth.stack.workflowFunction.function.node.defaultChild as never,
  );
  const functionArn = `arn:aws:lambda:${TEST_REGION}:${MOTO_ACCOUNT_ID}:function:${uniqueName('ala-workflow')}`;
  const synthesized = renderDefinition(synth.json, (intrinsic) => {
    if (intrinsic.Ref === 'AWS::Partition') return 'aws';
    const getAtt = intrinsic['Fn::GetAtt'];
    if (Array.isArray(getAtt) && getAtt[0] === workflowLogicalId && getAtt[1] === 'Arn') return functionArn;
    throw new Error(`the definition refers to ${JSON.stringify(intrinsic)}, which this test cannot resolve`);
  });
  const { stateMachineArn } = await sfn.send(
    new CreateStateMachineCommand({
      name: uniqueName('ala-approvals'),
      type: 'STANDARD',
      roleArn: `arn:aws:iam::${MOTO_ACCOUNT_ID}:role/ala-approvals-state-machine`,
      definition: JSON.stringify(prepareDefinitionForDriver(synthesized)),
    }),
  );
  if (!stateMachineArn) throw new Error('CreateStateMachine returned no ARN');
  return { stateMachineArn, functionArn, synthesized, synth };
}
