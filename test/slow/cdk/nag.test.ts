/**
 * cdk-nag acknowledgements are kept honest: the app is synthesized once more with every
 * acknowledgement recorded instead of applied, and each one must match a finding that really
 * occurs there (no stale or over-broad ones), while every finding must be acknowledged with a reason.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildGatewayApp } from '../../../cdk/gateway-app.ts';
import { COMMERCIAL_REGION, readViolations, SYNTH_TIMEOUT_MS, type Violation } from './synth.ts';

interface RecordedAcknowledgement {
  readonly id: string;
  readonly reason: string;
  readonly scope: string;
}

describe('cdk-nag acknowledgements', () => {
  const recorded: RecordedAcknowledgement[] = [];
  let findings: Violation[] = [];
  let outdir: string | undefined;
  let synthError: unknown;

  beforeAll(() => {
    vi.spyOn(Validations.prototype, 'acknowledge').mockImplementation(function (
      this: Validations,
      ...rules: { id: string; reason: string }[]
    ) {
      const scope = (this as unknown as { scope: IConstruct }).scope;
      for (const rule of rules) recorded.push({ id: rule.id, reason: rule.reason, scope: scope.node.path });
    });
    outdir = mkdtempSync(join(tmpdir(), 'ala-cdk-nag-'));
    const { app } = buildGatewayApp({
      region: COMMERCIAL_REGION,
      outdir,
      // Slack on: its construct's acknowledgements are checked here too.
      context: { 'aws:cdk:bundling-stacks': [], slackChannel: 'C0APPROVALS' },
    });
    // Without its acknowledgements the app must fail validation (checked in the first test below).
    try {
      app.synth();
    } catch (error) {
      synthError = error;
    }
    findings = readViolations(outdir).filter((v) => v.plugin !== 'CloudFormation Validate');
  }, SYNTH_TIMEOUT_MS);

  afterAll(() => {
    vi.restoreAllMocks();
    if (outdir) rmSync(outdir, { recursive: true, force: true });
  });

  it('fails validation without its acknowledgements, with the findings in the report', () => {
    expect(synthError).toBeInstanceOf(Error);
    expect(String((synthError as Error).message)).toMatch(/Acknowledge with/);
    expect(findings.length).toBeGreaterThan(0);
  });

  it('acknowledges nothing that does not occur: each acknowledgement matches a finding under its scope', () => {
    expect(recorded.length).toBeGreaterThan(0);
    const unmatched = recorded.filter(
      (ack) =>
        !findings.some(
          (finding) =>
            finding.rule === ack.id &&
            finding.paths.some((path) => path === ack.scope || path.startsWith(`${ack.scope}/`)),
        ),
    );
    expect(unmatched).toEqual([]);
  });

  it('leaves no finding unacknowledged', () => {
    const open = findings.flatMap((finding) =>
      finding.paths
        .filter(
          (path) =>
            !recorded.some(
              (ack) => ack.id === finding.rule && (path === ack.scope || path.startsWith(`${ack.scope}/`)),
            ),
        )
        .map((path) => `${finding.rule} at ${path}`),
    );
    expect(open).toEqual([]);
  });

  it('gives every acknowledgement a specific reason, not a placeholder', () => {
    for (const ack of recorded) {
      expect(ack.reason.length, `${ack.id} at ${ack.scope}`).toBeGreaterThanOrEqual(80);
      expect(ack.reason, `${ack.id} at ${ack.scope}`).not.toMatch(
        /\b(todo|tbd|not needed|n\/a|suppress(ed)?)\b/i,
      );
    }
    // The list, for reviewers (and docs/aws.md): rule, where, why.
    const table = recorded.map(
      (ack) => `${ack.id} @ ${ack.scope.replace(/^AlaGateway\//, '')}: ${ack.reason}`,
    );
    process.stdout.write(
      `cdk-nag acknowledgements (${recorded.length}):\n${table.map((l) => `  - ${l}`).join('\n')}\n`,
    );
  });
});
