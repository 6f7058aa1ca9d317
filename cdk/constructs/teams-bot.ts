import { Arn, ArnFormat, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { TEAMS_CLOUDS, type TeamsCloud } from '../../functions/adapters/chat/teams/clouds.ts';
import { TEAMS_ENV } from '../../functions/handlers/teams.ts';
import type { GatewayFunction } from './gateway-function.ts';

/** The Teams approval bot (docs/chat-teams.md). */
export interface TeamsBotProps {
  /** The bot's Entra application (client) id. */
  readonly appId: string;
  /**
   * ARN of a Secrets Manager secret (in the stack's account and region) whose SecretString is the
   * app registration's client secret. Create it yourself: the value never passes through CDK.
   */
  readonly appSecretArn: string;
  /** The Entra tenant of the app registration and of the approvers; clicks from other tenants are refused. */
  readonly tenantId?: string;
  /** Which Bot Framework endpoints: `public` (commercial, and GCC's default), `gcc`, `gcchigh`, `dod`. @default 'public' */
  readonly cloud?: TeamsCloud;
  /** Conversation id for groups policy data does not route (`notifications.teams`). */
  readonly conversationId?: string;
}

/**
 * The Teams bot from CDK context (`-c teamsAppId=… -c teamsAppSecretArn=…`, optional
 * `teamsTenantId`, `teamsCloud`, `teamsConversationId`); undefined without `teamsAppId`.
 */
export function teamsBotFromContext(scope: Construct): TeamsBotProps | undefined {
  const get = (key: string): string | undefined => {
    const value: unknown = scope.node.tryGetContext(key);
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const appId = get('teamsAppId');
  if (!appId) return undefined;
  const appSecretArn = get('teamsAppSecretArn');
  if (!appSecretArn) {
    throw new Error(
      'context teamsAppId is set but teamsAppSecretArn is not: create the secret and pass its ARN',
    );
  }
  const cloud = get('teamsCloud');
  if (cloud !== undefined && !(TEAMS_CLOUDS as readonly string[]).includes(cloud)) {
    throw new Error(`context teamsCloud is "${cloud}"; use one of ${TEAMS_CLOUDS.join(', ')}`);
  }
  const tenantId = get('teamsTenantId');
  const conversationId = get('teamsConversationId');
  return {
    appId,
    appSecretArn,
    ...(cloud ? { cloud: cloud as TeamsCloud } : {}),
    ...(tenantId ? { tenantId } : {}),
    ...(conversationId ? { conversationId } : {}),
  };
}

export const TEAMS_MESSAGES_RESOURCE = 'v1/integrations/teams/messages';

/**
 * Wires the Teams bot into the gateway: the api and workflow functions learn its app id and cloud
 * and may read its secret; the messaging endpoint gets its own POST method without IAM
 * authorisation (the Bot Framework channel cannot sign with SigV4; the function checks its JWT).
 */
export class TeamsBot extends Construct {
  readonly method: apigw.Method;

  constructor(
    scope: Construct,
    id: string,
    props: TeamsBotProps & {
      readonly api: apigw.RestApi;
      readonly apiFunction: GatewayFunction;
      readonly workflowFunction: GatewayFunction;
      /** Re-posts cards the workflow's Notify could not (it notifies through the same channels). */
      readonly sweeperFunction?: GatewayFunction;
    },
  ) {
    super(scope, id);
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(props.appId)) {
      throw new Error(`teams.appId "${props.appId}" is not an Entra application (client) id (a GUID)`);
    }
    const secret = Arn.split(props.appSecretArn, ArnFormat.COLON_RESOURCE_NAME);
    if (secret.service !== 'secretsmanager' || secret.resource !== 'secret') {
      throw new Error(`teams.appSecretArn "${props.appSecretArn}" is not a Secrets Manager secret ARN`);
    }
    const environment: Record<string, string> = {
      [TEAMS_ENV.appId]: props.appId,
      [TEAMS_ENV.secretArn]: props.appSecretArn,
      [TEAMS_ENV.cloud]: props.cloud ?? 'public',
      ...(props.tenantId ? { [TEAMS_ENV.tenantId]: props.tenantId } : {}),
      ...(props.conversationId ? { [TEAMS_ENV.conversation]: props.conversationId } : {}),
    };
    const notifying = [props.apiFunction, props.workflowFunction, props.sweeperFunction];
    for (const fn of notifying.filter((f): f is GatewayFunction => f !== undefined)) {
      for (const [name, value] of Object.entries(environment)) fn.function.addEnvironment(name, value);
      fn.allow(
        new iam.PolicyStatement({
          sid: 'ReadTeamsBotSecret',
          actions: ['secretsmanager:GetSecretValue'],
          // Secrets Manager appends a random suffix to a secret's ARN; a full ARN names exactly one.
          resources: [props.appSecretArn],
        }),
      );
    }

    const integration = new apigw.LambdaIntegration(props.apiFunction.function as lambda.IFunction, {
      proxy: true,
    });
    this.method = props.api.root
      .resourceForPath(TEAMS_MESSAGES_RESOURCE)
      .addMethod('POST', integration, { authorizationType: apigw.AuthorizationType.NONE });
    // The channel is no AWS principal: open this one path to anyone (the function checks the token).
    props.api.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowTeamsChannel',
        effect: iam.Effect.ALLOW,
        principals: [new iam.AnyPrincipal()],
        actions: ['execute-api:Invoke'],
        resources: [`execute-api:/*/POST/${TEAMS_MESSAGES_RESOURCE}`],
      }),
    );
    Validations.of(this.method).acknowledge(
      {
        id: 'AwsSolutions-APIG4',
        reason:
          'The Teams messaging endpoint is called by the Bot Framework channel, which cannot sign with SigV4. The api function authenticates every call itself: an RS256 JWT from the cloud’s Bot Framework OpenID keys, issuer, audience = the bot’s app id, expiry, serviceUrl (docs/chat-teams.md).',
      },
      {
        id: 'AwsSolutions-COG4',
        reason:
          'The Teams channel authenticates with a Bot Framework JWT the function verifies; a Cognito user pool cannot stand in for the Microsoft identity platform.',
      },
    );
  }
}
