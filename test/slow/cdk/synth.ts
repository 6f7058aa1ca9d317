/**
 * Synthesizes the gateway app in-process (cdk-nag plugins on, as in `cdk synth`) and reads what
 * came out: the template, the validation report, the state machine definition.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { ApprovalsGatewayStack, ApprovalsGatewayStackProps } from '../../../cdk/approvals-stack.ts';
import { buildGatewayApp } from '../../../cdk/gateway-app.ts';
import { TOOLS_DIR } from '../../harness/env.ts';

const run = promisify(execFile);

export const COMMERCIAL_REGION = 'us-east-1';
export const GOVCLOUD_REGION = 'us-gov-west-1';
/** A synth with cdk-nag takes 4–8 s; more while other test files synthesize in parallel. */
export const SYNTH_TIMEOUT_MS = 90_000;

export interface SynthOptions {
  readonly region: string;
  readonly stackProps?: Omit<ApprovalsGatewayStackProps, 'env'>;
  /** Run esbuild for every function (slow); by default bundling is skipped. @default false */
  readonly bundle?: boolean;
  /** @default - a new temporary directory */
  readonly outdir?: string;
}

export interface Synthesized {
  readonly app: App;
  readonly stack: ApprovalsGatewayStack;
  readonly outdir: string;
  readonly template: Template;
  readonly json: CfnTemplate;
}

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DependsOn?: string | string[];
}

export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
  readonly Outputs?: Record<string, unknown>;
}

export interface Violation {
  readonly plugin: string;
  readonly rule: string;
  readonly severity: string;
  readonly paths: readonly string[];
}

/** The violations in `<outdir>/validation-report.json`, if synthesis wrote one. */
export function readViolations(outdir: string): Violation[] {
  let raw: string;
  try {
    raw = readFileSync(join(outdir, 'validation-report.json'), 'utf8');
  } catch {
    return [];
  }
  const report = JSON.parse(raw) as {
    pluginReports?: {
      pluginName: string;
      violations?: {
        ruleName: string;
        severity?: string;
        violatingConstructs?: { constructPath: string }[];
      }[];
    }[];
  };
  return (report.pluginReports ?? []).flatMap((plugin) =>
    (plugin.violations ?? []).map((v) => ({
      plugin: plugin.pluginName,
      rule: v.ruleName,
      severity: v.severity ?? 'error',
      paths: (v.violatingConstructs ?? []).map((c) => c.constructPath),
    })),
  );
}

const temporaryOutdirs: string[] = [];
process.once('exit', () => {
  for (const dir of temporaryOutdirs) rmSync(dir, { recursive: true, force: true });
});

/** Synthesizes; a failed validation becomes an error that lists every finding. */
export function synthGateway(options: SynthOptions): Synthesized {
  let outdir = options.outdir;
  if (outdir === undefined) {
    outdir = mkdtempSync(join(tmpdir(), 'ala-cdk-'));
    temporaryOutdirs.push(outdir);
  }
  const { app, stack } = buildGatewayApp({
    region: options.region,
    outdir,
    ...(options.bundle ? {} : { context: { 'aws:cdk:bundling-stacks': [] } }),
    ...(options.stackProps ? { stackProps: options.stackProps } : {}),
  });
  try {
    app.synth();
  } catch (error) {
    const violations = readViolations(outdir);
    if (violations.length === 0) throw error;
    const lines = violations.map((v) => `  ${v.rule} (${v.severity}) at ${v.paths.join(', ')}`);
    throw new Error(`synthesis of ${options.region} failed validation:\n${lines.join('\n')}`, {
      cause: error,
    });
  }
  const template = Template.fromStack(stack);
  return { app, stack, outdir, template, json: template.toJSON() as CfnTemplate };
}

export function resourcesOfType(json: CfnTemplate, type: string): [string, CfnResource][] {
  return Object.entries(json.Resources).filter(([, resource]) => resource.Type === type);
}

export function onlyResourceOfType(json: CfnTemplate, type: string): [string, CfnResource] {
  const found = resourcesOfType(json, type);
  if (found.length !== 1) throw new Error(`expected exactly one ${type}, found ${found.length}`);
  return found[0] as [string, CfnResource];
}

/**
 * The state machine's definition as JSON, its intrinsics resolved by `resolve` (partition, function
 * ARNs): what Step Functions would receive after CloudFormation substituted them.
 */
export function renderDefinition(
  json: CfnTemplate,
  resolve: (intrinsic: Record<string, unknown>) => string,
): StateMachineDefinition {
  const [, machine] = onlyResourceOfType(json, 'AWS::StepFunctions::StateMachine');
  const definition = machine.Properties?.DefinitionString;
  let text: string;
  if (typeof definition === 'string') {
    text = definition;
  } else {
    const join = (definition as { 'Fn::Join'?: [string, unknown[]] } | undefined)?.['Fn::Join'];
    if (!join) throw new Error('DefinitionString is neither a string nor an Fn::Join');
    const [separator, parts] = join;
    text = parts
      .map((part) => (typeof part === 'string' ? part : resolve(part as Record<string, unknown>)))
      .join(separator);
  }
  return JSON.parse(text) as StateMachineDefinition;
}

export interface StateMachineDefinition {
  readonly StartAt: string;
  readonly States: Record<string, AslState>;
  readonly Comment?: string;
}

export interface AslState {
  readonly Type: string;
  readonly Resource?: string;
  readonly Parameters?: Record<string, unknown>;
  readonly Next?: string;
  readonly End?: boolean;
  readonly Default?: string;
  readonly Choices?: { Variable?: string; BooleanEquals?: boolean; Next: string }[];
  readonly TimeoutSecondsPath?: string;
  readonly TimestampPath?: string;
  readonly ResultPath?: string | null;
  readonly Retry?: {
    ErrorEquals: string[];
    IntervalSeconds?: number;
    MaxAttempts?: number;
    BackoffRate?: number;
    MaxDelaySeconds?: number;
    JitterStrategy?: string;
  }[];
  readonly Catch?: { ErrorEquals: string[]; ResultPath?: string; Next: string }[];
  readonly Error?: string;
  readonly Cause?: string;
}

/** Resolves intrinsics to readable placeholders: `${Partition}`, `${WorkflowFunction30483B6C.Arn}`. */
export function placeholder(intrinsic: Record<string, unknown>): string {
  const ref = intrinsic.Ref;
  if (ref === 'AWS::Partition') return 'aws';
  if (typeof ref === 'string') return `\${${ref}}`;
  const getAtt = intrinsic['Fn::GetAtt'];
  if (Array.isArray(getAtt)) return `\${${getAtt.join('.')}}`;
  throw new Error(`unexpected intrinsic in the definition: ${JSON.stringify(intrinsic)}`);
}

/** A property of a synthesized resource; throws naming it when absent. */
export function property<T>(resource: CfnResource, name: string): T {
  const value = resource.Properties?.[name];
  if (value === undefined) throw new Error(`${resource.Type} has no property ${name}`);
  return value as T;
}

const CFN_LINT = join(TOOLS_DIR, 'bin', 'cfn-lint');
/**
 * W3005 ("dependency already enforced by GetAtt"): CDK adds an explicit DependsOn from each
 * function and the state machine to its role; redundant with the GetAtt, harmless.
 */
export type FunctionId = 'ApiFunction' | 'WorkflowFunction' | 'SweeperFunction' | 'AuditArchiver';

const FUNCTION_OF = {
  ApiFunction: (stack: ApprovalsGatewayStack) => stack.apiFunction,
  WorkflowFunction: (stack: ApprovalsGatewayStack) => stack.workflowFunction,
  SweeperFunction: (stack: ApprovalsGatewayStack) => stack.sweeperFunction,
  AuditArchiver: (stack: ApprovalsGatewayStack) => stack.archive.archiver,
} as const;

/** One of the stack's Lambda functions in the template: its logical id and resource. */
export function functionResource(
  synth: Synthesized,
  id: FunctionId,
): { logicalId: string; resource: CfnResource } {
  const fn = FUNCTION_OF[id](synth.stack);
  const logicalId = synth.stack.getLogicalId(fn.function.node.defaultChild as never);
  const resource = synth.json.Resources[logicalId];
  if (!resource) throw new Error(`no resource ${logicalId}`);
  return { logicalId, resource };
}

/** The api function's environment variables as synthesized. */
export function apiEnvironment(synth: Synthesized): Record<string, unknown> {
  const { resource } = functionResource(synth, 'ApiFunction');
  return property<{ Variables: Record<string, unknown> }>(resource, 'Environment').Variables;
}

export const IGNORED_CFN_LINT_CHECKS = ['W3005'] as const;

export interface CfnLintFinding {
  readonly Rule: { readonly Id: string };
  readonly Message: string;
  readonly Location?: { readonly Path?: readonly (string | number)[] };
}

/** The synthesized template file of the gateway stack. */
export function templatePath(synth: Synthesized): string {
  return join(synth.outdir, synth.stack.templateFile);
}

/** cfn-lint (pinned, from scripts/tools.sh) on the template, for the region's resource specs. */
export async function cfnLint(synth: Synthesized, region: string): Promise<CfnLintFinding[]> {
  if (!existsSync(CFN_LINT)) {
    throw new Error(
      `cfn-lint not found at ${CFN_LINT}: run \`bash scripts/tools.sh\` (it installs the pinned cfn-lint)`,
    );
  }
  try {
    await run(CFN_LINT, [
      '--format',
      'json',
      '--regions',
      region,
      '--ignore-checks',
      ...IGNORED_CFN_LINT_CHECKS,
      '--',
      templatePath(synth),
    ]);
    return [];
  } catch (error) {
    const stdout = (error as { stdout?: string }).stdout;
    if (!stdout) throw error;
    return JSON.parse(stdout) as CfnLintFinding[];
  }
}

/** Each API method with its full path (rebuilt from the resources' PathPart chain) and its authorisation. */
export function apiMethods(json: CfnTemplate): { path: string; httpMethod: string; auth: string }[] {
  const resources = Object.fromEntries(resourcesOfType(json, 'AWS::ApiGateway::Resource'));
  const pathOf = (ref: unknown): string => {
    const id = (ref as { Ref?: string }).Ref;
    const resource = id ? resources[id] : undefined;
    if (!resource) return '';
    return `${pathOf(property(resource, 'ParentId'))}/${property<string>(resource, 'PathPart')}`;
  };
  return resourcesOfType(json, 'AWS::ApiGateway::Method').map(([, method]: [string, CfnResource]) => ({
    path: pathOf(property(method, 'ResourceId')) || '/',
    httpMethod: property<string>(method, 'HttpMethod'),
    auth: property<string>(method, 'AuthorizationType'),
  }));
}
