import { readFileSync } from 'node:fs';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { readAppConfig } from '#infra/config.ts';
import { DeviceRegistration } from '#shared/domain/registry/model.ts';
import type { RouteContract } from '#shared/http/contract.ts';
import { CONTRACT_SETS } from '../../scripts/openapi.ts';
import { type BuiltApp, buildForTest } from './helpers.ts';

/**
 * The README's deploy recipe, kept honest without an AWS account: every `npx cdk deploy` line synthesizes with exactly
 * its context in its region, the outputs the recipe reads exist in the stacks it names, and every API call it shows is
 * a real route that the role the recipe gives (admin) may call, with a body the route accepts.
 */
const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

function deploySection(): string {
  const start = README.indexOf('## Deploy 部署');
  const end = README.indexOf('\n## ', start + 1);
  if (start < 0 || end < 0) throw new Error('README has no "## Deploy 部署" section');
  return README.slice(start, end);
}

interface Block {
  /** the ### heading the block is under */
  heading: string;
  lines: string[];
}

function bashBlocks(section: string): Block[] {
  const blocks: Block[] = [];
  let heading = '';
  let inBlock: string[] | undefined;
  for (const line of section.split('\n')) {
    if (inBlock) {
      if (line.startsWith('```')) {
        blocks.push({ heading, lines: inBlock });
        inBlock = undefined;
      } else inBlock.push(line);
    } else if (line.startsWith('### ')) heading = line.slice(4);
    else if (line.startsWith('```bash')) inBlock = [];
  }
  return blocks;
}

/** `-c key=value` pairs of a command line (values without spaces, as the recipe writes them) */
function contextOf(command: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of command.matchAll(/-c\s+([A-Za-z]+)=(\S+)/g)) {
    const [, key, value] = m;
    if (key && value) out[key] = value;
  }
  return out;
}

const regionOf = (block: Block): string | undefined =>
  block.lines.join('\n').match(/AWS_REGION=([a-z]{2}(?:-[a-z]+)+-\d)/)?.[1];

/** `jq -r '."<stack>".<output>' outputs.json` reads */
const outputsRead = (block: Block): { stack: string; output: string }[] =>
  [...block.lines.join('\n').matchAll(/jq -r '\."([^"]+)"\.([A-Za-z0-9]+)' outputs\.json/g)].map((m) => ({
    stack: String(m[1]),
    output: String(m[2]),
  }));

const section = deploySection();
const blocks = bashBlocks(section);
const deployBlocks = blocks.filter((b) => b.lines.some((l) => l.startsWith('npx cdk deploy')));

const built: BuiltApp[] = [];
afterAll(() => {
  for (const b of built) b.cleanup();
});

describe('README deploy recipe', () => {
  it('has a global and a China recipe, each bootstrapping before it deploys', () => {
    expect(deployBlocks.map(regionOf)).toEqual(['ap-east-1', 'cn-north-1']);
    for (const b of deployBlocks) {
      const bootstrap = b.lines.findIndex((l) => l.startsWith('npx cdk bootstrap'));
      const deploy = b.lines.findIndex((l) => l.startsWith('npx cdk deploy'));
      expect(bootstrap, b.heading).toBeGreaterThanOrEqual(0);
      expect(bootstrap, b.heading).toBeLessThan(deploy);
    }
  });

  for (const block of deployBlocks) {
    const region = regionOf(block);
    const command = block.lines.find((l) => l.startsWith('npx cdk deploy')) ?? '';
    const context = contextOf(command);

    it(`synthesizes "${block.heading}" with its context, and the outputs it reads exist`, () => {
      expect(command).toContain('--outputs-file outputs.json');
      expect(() => readAppConfig((k) => context[k])).not.toThrow();
      vi.stubEnv('CDK_DEFAULT_REGION', String(region));
      vi.stubEnv('CDK_DEFAULT_ACCOUNT', '111122223333');
      let app: BuiltApp;
      try {
        app = buildForTest(context);
        built.push(app);
      } finally {
        vi.unstubAllEnvs();
      }
      const stacks = app.app.node.children.filter((c): c is Stack => c instanceof Stack);
      expect(stacks.map((s) => s.stackName)).toEqual(
        expect.arrayContaining([
          'EnvWatch-prod-Data',
          'EnvWatch-prod-Api',
          'EnvWatch-prod-Ingest',
          'EnvWatch-prod-Web',
        ]),
      );
      expect(stacks.every((s) => s.region === region)).toBe(true);
      const reads = outputsRead(block);
      expect(reads.length).toBeGreaterThan(0);
      for (const { stack, output } of reads) {
        const s = stacks.find((x) => x.stackName === stack);
        expect(s, `${stack} is not built by "${command}"`).toBeDefined();
        if (s) expect(Object.keys(Template.fromStack(s).findOutputs(output)), `${stack}.${output}`).toEqual([output]);
      }
    });
  }

  const routes: RouteContract[] = CONTRACT_SETS.flatMap((set) => Object.values(set));
  const routeFor = (method: string, path: string) =>
    routes.find((r) => {
      if (r.method !== method) return false;
      const pattern = new RegExp(`^${r.path.replace(/\{[^}]+\}/g, '[^/]+')}$`);
      return pattern.test(path);
    });
  const calls = [...section.matchAll(/curl -s(?: -X (POST|PUT|DELETE))? "\$WEB\/api([^"?]+)[^"]*"/g)].map((m) => ({
    method: m[1] ?? 'GET',
    path: String(m[2]),
  }));

  it('calls only real API routes, through the web address’s /api, that the first admin may call', () => {
    expect(calls.length).toBeGreaterThanOrEqual(3);
    for (const call of calls) {
      const route = routeFor(call.method, call.path);
      expect(route, `${call.method} ${call.path} is not a route`).toBeDefined();
      expect(route?.auth === 'public' || route?.auth.includes('admin'), `${call.method} ${call.path} for admin`).toBe(
        true,
      );
    }
  });

  it('registers the device with a body the registry accepts', () => {
    const jq = section.match(/jq -n --rawfile csr device\.csr '(\{[^']+\})'/)?.[1];
    expect(jq).toBeDefined();
    const json = String(jq)
      .replace(
        /\$csr/,
        JSON.stringify(
          '-----BEGIN CERTIFICATE REQUEST-----\nMIIBDzCBtgIBADAjMSEwHwYDVQQD\n-----END CERTIFICATE REQUEST-----',
        ),
      )
      .replace(/([{,]\s*)([A-Za-z]+):/g, '$1"$2":');
    const parsed = DeviceRegistration.safeParse(JSON.parse(json));
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    // the CSR's subject is the MN the device registers with (IoT's thing name and the MQTT client id)
    const mn = section.match(/-subj "\/CN=(\w+)"/)?.[1];
    expect(parsed.data?.mn).toBe(mn);
  });
});
