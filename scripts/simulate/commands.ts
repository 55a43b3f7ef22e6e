import { toCurrentCode } from '#shared/domain/pollutants.ts';

/**
 * The injection commands, typed on stdin while the simulator runs or given at start with `--inject "<command>"`.
 * Parsing is pure: device and pollutant names are checked against the running devices later (runner.ts).
 */
export type Command =
  | { kind: 'exceed'; device: string; pollutant: string; factor: number }
  | { kind: 'normal'; device: string }
  | { kind: 'gap'; device: string; minutes: number }
  | { kind: 'flag'; device: string; pollutant: string; letter: string }
  | { kind: 'badcrc'; device: string; count: number }
  | { kind: 'flat'; device: string; pollutant: string }
  | { kind: 'treatment-off'; device: string }
  | { kind: 'quiet'; device: string; minutes: number }
  | { kind: 'rotate-key'; device: string }
  | { kind: 'request-key'; device: string }
  | { kind: 'datagaps'; device: string }
  | { kind: 'status' }
  | { kind: 'help' }
  | { kind: 'quit' };

export type ParseResult = { ok: true; command: Command } | { ok: false; error: string };

export const HELP = [
  'commands (<mn> = full MN or its last characters, e.g. BW01; <pollutant> = code or cod, nh3n, ss, ph, tn, tp, nox, so2, dust, o2, nmhc):',
  '  exceed <mn> <pollutant> <factor>   values at factor × the outlet limit until `normal <mn>`',
  '  gap <mn> <minutes>                 the device goes silent for that many simulated minutes',
  '  flag <mn> <pollutant> <letter>     data flag on that pollutant (N F M S D C T B; N clears it)',
  '  badcrc <mn> <count>                the next <count> packets go out with a corrupted CRC',
  '  flat <mn> <pollutant>              the pollutant flat-lines at its current value',
  '  treatment-off <mn>                 SB2 (treatment facility) off while SB1 (production) runs',
  '  normal <mn>                        clears exceed, flag, flat and treatment-off on that device',
  'HJ 212-2025 devices (AB01, GA01: SM4-encrypted):',
  '  quiet <mn> <minutes>               only 9015 heartbeats for that many simulated minutes, then the stored data re-sent with RF=1',
  '  rotate-key <mn>                    an administrator asks the registry for a new SM4 key; the device answers the 1014 push',
  '  request-key <mn>                   the device itself asks for a new key (CN 1014 SKCreateTime=…, over TCP or MQTT)',
  "  datagaps <mn>                      (local platform) runs the data-gap job as of the quiet device's last data + the real-time allowance",
  '  status | help | quit',
].join('\n');

const ALIASES: Record<string, string> = {
  cod: 'w01018',
  nh3n: 'w21003',
  'nh3-n': 'w21003',
  ammonia: 'w21003',
  ss: 'w01012',
  ph: 'w01001',
  tn: 'w21001',
  tp: 'w21011',
  flow: 'w00000',
  nox: 'a21002',
  so2: 'a21026',
  dust: 'a34013',
  pm: 'a34013',
  particulate: 'a34013',
  o2: 'a19001',
  temp: 'a01012',
  nmhc: 'a24088',
  'gas-flow': 'a00000',
};

/** Pollutant code from a code (2017 or 2005) or an alias; undefined when it is neither. */
export function pollutantCode(text: string): string | undefined {
  const alias = ALIASES[text.toLowerCase()];
  if (alias) return alias;
  const code = toCurrentCode(text);
  return /^[a-z]\d{5}$/.test(code) ? code : undefined;
}

export const DATA_FLAGS = ['N', 'F', 'M', 'S', 'D', 'C', 'T', 'B', 'P'];

const USAGE: Record<string, string> = {
  exceed: 'exceed <mn> <pollutant> <factor>',
  normal: 'normal <mn>',
  gap: 'gap <mn> <minutes>',
  flag: 'flag <mn> <pollutant> <letter>',
  badcrc: 'badcrc <mn> <count>',
  flat: 'flat <mn> <pollutant>',
  'treatment-off': 'treatment-off <mn>',
  quiet: 'quiet <mn> <minutes>',
  'rotate-key': 'rotate-key <mn>',
  'request-key': 'request-key <mn>',
  datagaps: 'datagaps <mn>',
};

export function parseCommand(line: string): ParseResult {
  const words = line
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '');
  const [verb = '', ...args] = words;
  const name = verb.toLowerCase();
  const err = (error: string): ParseResult => ({ ok: false, error });
  if (name === '') return err('empty command; type `help`');
  if (name === 'status' || name === 'help' || name === 'quit' || name === 'exit' || name === '?') {
    if (args.length > 0) return err(`${name} takes no arguments`);
    const kind = name === 'exit' ? 'quit' : name === '?' ? 'help' : name;
    return { ok: true, command: { kind } as Command };
  }
  const usage = USAGE[name];
  if (!usage) return err(`unknown command "${verb}"; type \`help\``);
  const expected = usage.split(' ').length - 1;
  if (args.length !== expected) return err(`${name} needs ${expected} argument${expected > 1 ? 's' : ''}: ${usage}`);
  const device = args[0] as string;
  const code = (i: number): string | ParseResult => {
    const text = args[i] as string;
    return (
      pollutantCode(text) ?? err(`"${text}" is not a pollutant code (e.g. w01018) or a known name (cod, nh3n, nox …)`)
    );
  };
  const positive = (text: string, what: string, integer: boolean): number | ParseResult => {
    const n = Number(text);
    if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
      return err(`${what} must be a positive ${integer ? 'integer' : 'number'}, got "${text}"`);
    }
    return n;
  };
  switch (name) {
    case 'normal':
    case 'treatment-off':
    case 'rotate-key':
    case 'request-key':
    case 'datagaps':
      return { ok: true, command: { kind: name, device } };
    case 'quiet': {
      const minutes = positive(args[1] as string, 'minutes', false);
      if (typeof minutes !== 'number') return minutes;
      return { ok: true, command: { kind: 'quiet', device, minutes } };
    }
    case 'exceed': {
      const pollutant = code(1);
      if (typeof pollutant !== 'string') return pollutant;
      const factor = positive(args[2] as string, 'factor', false);
      if (typeof factor !== 'number') return factor;
      return { ok: true, command: { kind: 'exceed', device, pollutant, factor } };
    }
    case 'flat': {
      const pollutant = code(1);
      if (typeof pollutant !== 'string') return pollutant;
      return { ok: true, command: { kind: 'flat', device, pollutant } };
    }
    case 'flag': {
      const pollutant = code(1);
      if (typeof pollutant !== 'string') return pollutant;
      const letter = (args[2] as string).toUpperCase();
      if (!DATA_FLAGS.includes(letter)) return err(`flag must be one of ${DATA_FLAGS.join(' ')}, got "${args[2]}"`);
      return { ok: true, command: { kind: 'flag', device, pollutant, letter } };
    }
    case 'gap': {
      const minutes = positive(args[1] as string, 'minutes', false);
      if (typeof minutes !== 'number') return minutes;
      return { ok: true, command: { kind: 'gap', device, minutes } };
    }
    case 'badcrc': {
      const count = positive(args[1] as string, 'count', true);
      if (typeof count !== 'number') return count;
      return { ok: true, command: { kind: 'badcrc', device, count } };
    }
    default:
      return err(`unknown command "${verb}"`);
  }
}

/** `10m`, `90s`, `2h`, `1d` or plain seconds → milliseconds. */
export function parseDuration(text: string): number | string {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/i.exec(text.trim());
  if (!m) return `invalid duration "${text}": use e.g. 90s, 10m, 2h`;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 's').toLowerCase()] ?? 1000;
  const ms = Number(m[1]) * unit;
  return ms > 0 ? ms : `duration must be positive: "${text}"`;
}
