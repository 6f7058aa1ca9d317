import { Aws, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';

export interface GatewayApiProps {
  /** The api Lambda (functions/handlers/api.ts); every route is proxied to it. */
  readonly handler: lambda.IFunction;
  readonly logKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  readonly stageName: string;
  readonly throttleRateLimit: number;
  readonly throttleBurstLimit: number;
  /** Let this stack set the account's API Gateway CloudWatch Logs role (needed for execution logs). */
  readonly manageCloudWatchRole: boolean;
  /** A WAFv2 web ACL (REGIONAL scope) to associate with the stage. @default - none */
  readonly webAclArn?: string;
  /** Accounts besides the stack's own whose callers may invoke the API. */
  readonly trustedAccountIds: readonly string[];
  /** Require callers to belong to this AWS Organization. @default - no condition */
  readonly principalOrgId?: string;
  /**
   * Chat platforms' callbacks, which cannot sign with SigV4 and authenticate themselves to the
   * function (a signature over the body): the only methods without IAM authorisation, allowed to
   * anyone by the resource policy, each with its own throttling. @default - none
   */
  readonly unauthenticatedRoutes?: readonly UnauthenticatedRoute[];
}

export interface UnauthenticatedRoute {
  /** `/v1/integrations/…` (chat callbacks) or `/review…` (the review page); `{proxy+}` allowed. */
  readonly path: string;
  readonly method: string;
  readonly rateLimit: number;
  readonly burstLimit: number;
  /** Why this route may skip IAM (the cdk-nag acknowledgement). */
  readonly reason: string;
}

/**
 * The REST API: REGIONAL endpoint (GovCloud has no edge-optimized APIs), AWS_IAM (SigV4) on every
 * method, one Lambda proxy for all routes so the Hono application owns routing and validation.
 * Access logs as JSON lines, execution logs at ERROR without request or response bodies (they
 * hold action arguments and, on redemption, credentials), throttling, X-Ray tracing.
 */
export class GatewayApi extends Construct {
  readonly api: apigw.RestApi;
  readonly accessLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, props: GatewayApiProps) {
    super(scope, id);
    if (props.throttleRateLimit <= 0 || props.throttleBurstLimit <= 0) {
      throw new Error(
        `API throttling limits must be positive, got rate ${props.throttleRateLimit} and burst ${props.throttleBurstLimit}`,
      );
    }
    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      encryptionKey: props.logKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const integration = new apigw.LambdaIntegration(props.handler, { proxy: true });
    const open = props.unauthenticatedRoutes ?? [];
    for (const route of open) {
      if (!route.path.startsWith('/v1/integrations/') && !/^\/review(\/|$)/.test(route.path)) {
        throw new Error(
          `only chat callbacks under /v1/integrations/ and the review page under /review may skip IAM, not ${route.path}`,
        );
      }
    }
    this.api = new apigw.RestApi(this, 'Api', {
      description: 'Action-Level Approvals gateway (SigV4)',
      endpointConfiguration: { types: [apigw.EndpointType.REGIONAL] },
      defaultMethodOptions: { authorizationType: apigw.AuthorizationType.IAM },
      policy: resourcePolicy(props.trustedAccountIds, props.principalOrgId, open),
      cloudWatchRole: props.manageCloudWatchRole,
      ...(props.manageCloudWatchRole ? { cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN } : {}),
      deployOptions: {
        stageName: props.stageName,
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogs),
        accessLogFormat: apigw.AccessLogFormat.custom(accessLogFormat()),
        loggingLevel: props.manageCloudWatchRole
          ? apigw.MethodLoggingLevel.ERROR
          : apigw.MethodLoggingLevel.OFF,
        dataTraceEnabled: false,
        metricsEnabled: true,
        tracingEnabled: true,
        throttlingRateLimit: props.throttleRateLimit,
        throttlingBurstLimit: props.throttleBurstLimit,
        methodOptions: Object.fromEntries(
          open.map((route) => [
            `${route.path}/${route.method}`,
            {
              throttlingRateLimit: route.rateLimit,
              throttlingBurstLimit: route.burstLimit,
              loggingLevel: props.manageCloudWatchRole
                ? apigw.MethodLoggingLevel.ERROR
                : apigw.MethodLoggingLevel.OFF,
              dataTraceEnabled: false,
              metricsEnabled: true,
            },
          ]),
        ),
      },
    });
    // The stack outputs the URL itself, under a stable name.
    this.api.node.tryRemoveChild('Endpoint');
    this.api.root.addMethod('ANY', integration);
    this.api.root.addResource('{proxy+}').addMethod('ANY', integration);
    for (const route of open) {
      const method = this.api.root
        .resourceForPath(route.path.slice(1))
        .addMethod(route.method, integration, { authorizationType: apigw.AuthorizationType.NONE });
      Validations.of(method).acknowledge({ id: 'AwsSolutions-APIG4', reason: route.reason });
    }
    if (props.webAclArn !== undefined) {
      new wafv2.CfnWebACLAssociation(this, 'WebAcl', {
        resourceArn: this.api.deploymentStage.stageArn,
        webAclArn: props.webAclArn,
      });
    }

    acknowledgeApiFindings(this.api, props.webAclArn !== undefined);
    if (props.manageCloudWatchRole) {
      const role = this.api.node.tryFindChild('CloudWatchRole');
      if (role) {
        Validations.of(role).acknowledge({
          id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
          reason:
            'The account-level role API Gateway writes execution logs with; AmazonAPIGatewayPushToCloudWatchLogs is the policy AWS documents for it and maintains as the service changes.',
        });
      }
    }
  }
}

/**
 * The chat platforms' callbacks (`POST /v1/integrations/…`), in resource-policy form. The Deny
 * statements leave them out, so a chat construct can open its own callback with an Allow for
 * its exact path (`addToResourcePolicy`) and a method without IAM authorisation; without one,
 * nothing allows them for anyone outside the listed accounts.
 */
export const INTEGRATION_CALLBACKS = 'execute-api:/*/POST/v1/integrations/*';

/** The review page's paths (every method), left out of the denials only when the page is deployed. */
export const REVIEW_PAGE_PATHS = ['execute-api:/*/*/review', 'execute-api:/*/*/review/*'] as const;

/**
 * Access log fields: who called (the SigV4 caller's ARN and account), what, the answer, and why API
 * Gateway itself refused or failed (`$context.error.*`: throttling,
 * a denied signature, a Lambda that could not be invoked) — the lines an incident review starts from.
 */
export const ACCESS_LOG_FIELDS: Readonly<Record<string, string>> = {
  requestId: '$context.requestId',
  extendedRequestId: '$context.extendedRequestId',
  requestTime: '$context.requestTime',
  ip: '$context.identity.sourceIp',
  callerArn: '$context.identity.userArn',
  caller: '$context.identity.caller',
  accountId: '$context.identity.accountId',
  user: '$context.identity.user',
  httpMethod: '$context.httpMethod',
  resourcePath: '$context.resourcePath',
  protocol: '$context.protocol',
  status: '$context.status',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationStatus: '$context.integration.status',
  integrationLatency: '$context.integration.latency',
  // The quoted form: a message holding a quote would otherwise break the line's JSON.
  errorMessage: '$context.error.messageString',
  errorResponseType: '$context.error.responseType',
  wafResponseCode: '$context.wafResponseCode',
};

/**
 * One JSON object per line. Values are quoted (an absent one logs as "-"); no field an agent can
 * fill freely (user agent, raw path) is logged, so no caller can break a line's JSON.
 */
export function accessLogFormat(): string {
  return `{${Object.entries(ACCESS_LOG_FIELDS)
    .map(([name, variable]) =>
      variable.endsWith('String') ? `"${name}":${variable}` : `"${name}":"${variable}"`,
    )
    .join(',')}}`;
}

/**
 * Who may invoke the API at all: callers from the stack's account and the listed accounts (and,
 * if given, only inside the organization). The api function maps the same account list
 * (functions/http/iam-principal.ts), so API Gateway and the gateway agree on who can arrive.
 * Same-account callers still need an identity policy allowing execute-api:Invoke.
 */
function resourcePolicy(
  trustedAccountIds: readonly string[],
  principalOrgId: string | undefined,
  open: readonly UnauthenticatedRoute[],
): iam.PolicyDocument {
  const accounts = [Aws.ACCOUNT_ID, ...trustedAccountIds];
  // The chat callbacks come from the platform, from no AWS account: the denials below skip every
  // callback path, and only the callbacks a chat construct opens are allowed (here, or by the
  // construct's own statement); any other path there is allowed to no one outside the accounts.
  const openResources = open.map(
    (route) => `execute-api:/*/${route.method}${route.path.replace('{proxy+}', '*')}`,
  );
  // The review page's people come from no AWS account either; only its own paths are left out.
  const skipped = open.some((route) => route.path.startsWith('/review'))
    ? [INTEGRATION_CALLBACKS, ...REVIEW_PAGE_PATHS]
    : [INTEGRATION_CALLBACKS];
  const statements = [
    new iam.PolicyStatement({
      sid: 'AllowListedAccounts',
      effect: iam.Effect.ALLOW,
      principals: accounts.map((account) => new iam.AccountPrincipal(account)),
      actions: ['execute-api:Invoke'],
      resources: ['execute-api:/*'],
    }),
    new iam.PolicyStatement({
      sid: 'DenyOtherAccounts',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['execute-api:Invoke'],
      notResources: skipped,
      conditions: { StringNotEquals: { 'aws:PrincipalAccount': accounts } },
    }),
  ];
  if (openResources.length > 0) {
    statements.push(
      new iam.PolicyStatement({
        sid: 'AllowChatCallbacks',
        effect: iam.Effect.ALLOW,
        principals: [new iam.AnyPrincipal()],
        actions: ['execute-api:Invoke'],
        resources: openResources,
      }),
    );
  }
  if (principalOrgId !== undefined) {
    statements.push(
      new iam.PolicyStatement({
        sid: 'DenyOutsideOrganization',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['execute-api:Invoke'],
        notResources: skipped,
        conditions: { StringNotEquals: { 'aws:PrincipalOrgID': principalOrgId } },
      }),
    );
  }
  return new iam.PolicyDocument({ statements });
}

function acknowledgeApiFindings(api: apigw.RestApi, hasWebAcl: boolean): void {
  Validations.of(api).acknowledge(
    {
      id: 'AwsSolutions-APIG2',
      reason:
        'Every request reaches one Lambda proxy whose Hono application validates paths, queries, headers and bodies against the zod schemas the OpenAPI document is generated from (docs/design.md#3-architecture: one application so validation cannot drift); API Gateway models would be a second copy of those schemas.',
    },
    {
      id: 'AwsSolutions-COG4',
      reason:
        'Callers are agents and pipelines with IAM identities: every method requires SigV4 (AWS_IAM), which is the authentication the design chose (docs/design.md#2-who-uses-it-and-how); a Cognito user pool would add a second identity store.',
    },
    {
      id: 'NIST.800.53.R5-APIGWCacheEnabledAndEncrypted',
      reason:
        'Responses are per caller and time-sensitive (statuses, one-shot grants sent with Cache-Control: no-store); caching them would serve stale or foreign answers, so the stage has no cache to encrypt.',
    },
    {
      id: 'NIST.800.53.R5-APIGWSSLEnabled',
      reason:
        'The only backend is a Lambda proxy integration invoked by API Gateway through the Lambda API; client certificates authenticate API Gateway to HTTP backends and do not apply.',
    },
  );
  if (!hasWebAcl) {
    Validations.of(api).acknowledge(
      {
        id: 'AwsSolutions-APIG3',
        reason:
          'No WAF in the default stack: every method requires SigV4, so API Gateway refuses unauthenticated traffic before it reaches the function, and stage throttling bounds the rest. Web ACLs are usually owned centrally (Firewall Manager); pass webAclArn to associate one.',
      },
      {
        id: 'NIST.800.53.R5-APIGWAssociatedWithWAF',
        reason:
          'No WAF in the default stack: every method requires SigV4 and the stage is throttled; pass webAclArn to associate a centrally managed web ACL.',
      },
    );
  }
}
