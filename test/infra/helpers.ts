import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { buildEnvWatch } from '#infra/envwatch-app.ts';
import type { ApiStack } from '#infra/stacks/api-stack.ts';
import type { DataStack } from '#infra/stacks/data-stack.ts';
import type { IngestStack } from '#infra/stacks/ingest-stack.ts';
import type { OpsStack } from '#infra/stacks/ops-stack.ts';
import type { WebStack } from '#infra/stacks/web-stack.ts';

/**
 * Shared helpers for the infra tests: build the real EnvWatch app (bundling skipped) into a temp dir, read CloudFormation
 * values as plain strings (`${TablesRegistry55D7706D.Arn}/index/gsi1`), following cross-stack imports back to the Data
 * stack, and read the policy-validation report (cdk-nag) that synthesis writes.
 */

export const PROD_CONTEXT = {
  stage: 'prod',
  jwtIssuer: 'https://login.qingyuan-env.example.cn/realms/envwatch',
  jwtAudience: 'envwatch-console-prod',
};

export interface BuiltApp {
  app: App;
  data: DataStack;
  api: ApiStack;
  ingest: IngestStack;
  ops: OpsStack;
  /** absent with -c web=off, or in a China region without a domain */
  web: WebStack | undefined;
  outdir: string;
  cleanup: () => void;
}

/** The real app, not yet synthesized: tests may add to it before synth. */
export function buildForTest(context: Record<string, unknown> = {}): BuiltApp {
  const outdir = mkdtempSync(join(tmpdir(), 'envwatch-infra-'));
  const app = new App({
    outdir,
    context: {
      'aws:cdk:bundling-stacks': [],
      // the validation error carries the whole report (vitest sets NODE_ENV=test, which means the same)
      '@aws-cdk/core:appMode': 'inmemory',
      ...context,
    },
  });
  const { data, api, ingest, ops, web } = buildEnvWatch(app);
  return { app, data, api, ingest, ops, web, outdir, cleanup: () => rmSync(outdir, { recursive: true, force: true }) };
}

export interface SynthesizedApp extends BuiltApp {
  dataTemplate: Template;
  apiTemplate: Template;
  /** renders a CloudFormation value of either stack as a string, resolving imports from the Data stack */
  render: (value: unknown) => string;
}

export function synthForTest(context: Record<string, unknown> = {}): SynthesizedApp {
  const built = buildForTest(context);
  const dataTemplate = Template.fromStack(built.data);
  const apiTemplate = Template.fromStack(built.api);
  const exports = exportsOf(dataTemplate);
  const render = (value: unknown) => renderValue(value, exports);
  return { ...built, dataTemplate, apiTemplate, render };
}

/** The logical ID of a construct's CloudFormation resource (its default child, or itself). */
export function logicalId(construct: IConstruct): string {
  const el = construct instanceof CfnElement ? construct : construct.node.defaultChild;
  if (!(el instanceof CfnElement)) throw new Error(`${construct.node.path} has no CloudFormation resource`);
  return Stack.of(el).getLogicalId(el);
}

export type Json = Record<string, unknown>;

export const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A resource's section (`Properties`, `DeletionPolicy` …) by logical ID; fails clearly when absent. */
export function resource(t: Template, id: string): Json {
  const all = t.toJSON()['Resources'];
  const r = isRecord(all) ? all[id] : undefined;
  if (!isRecord(r)) throw new Error(`no resource ${id} in template`);
  return r;
}

export function props(t: Template, id: string): Json {
  const p = resource(t, id)['Properties'];
  return isRecord(p) ? p : {};
}

/** Logical IDs of every resource of a type. */
export function idsOfType(t: Template, type: string): string[] {
  return Object.keys(t.findResources(type));
}

export const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

export function exportsOf(t: Template): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const outputs = t.toJSON()['Outputs'];
  if (!isRecord(outputs)) return out;
  for (const o of Object.values(outputs)) {
    if (!isRecord(o) || !isRecord(o['Export'])) continue;
    const name = o['Export']['Name'];
    if (typeof name === 'string') out.set(name, o['Value']);
  }
  return out;
}

/**
 * `{Ref: X}` → `${X}`, `{Fn::GetAtt: [X, A]}` → `${X.A}`, `Fn::Join` joined, `Fn::ImportValue` replaced by the exported
 * value; anything else as JSON, so an assertion on the string never silently passes.
 */
export function renderValue(value: unknown, exports: Map<string, unknown> = new Map()): string {
  if (typeof value === 'string') return value;
  if (!isRecord(value)) return JSON.stringify(value);
  const ref = value['Ref'];
  if (typeof ref === 'string') return `\${${ref}}`;
  const att = value['Fn::GetAtt'];
  if (Array.isArray(att)) return `\${${att.join('.')}}`;
  const join = value['Fn::Join'];
  if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
    return join[1].map((p) => renderValue(p, exports)).join(join[0]);
  }
  const imported = value['Fn::ImportValue'];
  if (typeof imported === 'string' && exports.has(imported)) return renderValue(exports.get(imported), exports);
  return JSON.stringify(value);
}

/** One unacknowledged finding from the synthesized validation report. */
export interface Finding {
  plugin: string;
  rule: string;
  severity: string;
  paths: string[];
  description: string;
}

/**
 * Synthesizes `app` and returns every finding of the policy-validation report (cdk-nag writes there). A synth that
 * fails because of those findings is expected; any other synth error is rethrown.
 */
export function synthFindings(built: BuiltApp): Finding[] {
  let failure: unknown;
  try {
    built.app.synth({ force: true });
  } catch (err) {
    failure = err;
  }
  let report: unknown;
  try {
    report = JSON.parse(readFileSync(join(built.outdir, 'validation-report.json'), 'utf8'));
  } catch {
    if (failure) throw failure;
    return [];
  }
  const findings = parseReport(report);
  if (failure && !findings.some(isError)) throw failure;
  return findings;
}

export const isError = (f: Finding) => f.severity === 'error' || f.severity === 'fatal';

export const formatFindings = (findings: Finding[]) =>
  findings.map((f) => `${f.severity} ${f.rule} (${f.plugin}) at ${f.paths.join(', ')}: ${f.description}`).join('\n');

function parseReport(report: unknown): Finding[] {
  const out: Finding[] = [];
  if (!isRecord(report)) return out;
  for (const plugin of asArray(report['pluginReports'])) {
    if (!isRecord(plugin)) continue;
    for (const v of asArray(plugin['violations'])) {
      if (!isRecord(v)) continue;
      const paths = asArray(v['violatingConstructs'] ?? v['violatingResources'])
        .map((c) => (isRecord(c) ? c['constructPath'] : undefined))
        .filter((p): p is string => typeof p === 'string');
      out.push({
        plugin: String(plugin['pluginName']),
        rule: String(v['ruleName']),
        severity: String(v['severity']),
        paths,
        description: String(v['description']).slice(0, 200),
      });
    }
  }
  return out;
}
