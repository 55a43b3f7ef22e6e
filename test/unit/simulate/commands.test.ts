import { describe, expect, it } from 'vitest';
import { parseCommand, parseDuration, pollutantCode } from '../../../scripts/simulate/commands.ts';

const ok = (line: string) => {
  const r = parseCommand(line);
  if (!r.ok) throw new Error(r.error);
  return r.command;
};
const error = (line: string) => {
  const r = parseCommand(line);
  if (r.ok) throw new Error(`parsed: ${JSON.stringify(r.command)}`);
  return r.error;
};

describe('parseCommand', () => {
  it('parses every injection command', () => {
    expect(ok('exceed BW01 w01018 2.5')).toEqual({ kind: 'exceed', device: 'BW01', pollutant: 'w01018', factor: 2.5 });
    expect(ok('  EXCEED  bw01  cod  2 ')).toEqual({ kind: 'exceed', device: 'bw01', pollutant: 'w01018', factor: 2 });
    expect(ok('normal BW01')).toEqual({ kind: 'normal', device: 'BW01' });
    expect(ok('gap AB01 15')).toEqual({ kind: 'gap', device: 'AB01', minutes: 15 });
    expect(ok('flag GA01 nox d')).toEqual({ kind: 'flag', device: 'GA01', pollutant: 'a21002', letter: 'D' });
    expect(ok('badcrc FA01 3')).toEqual({ kind: 'badcrc', device: 'FA01', count: 3 });
    expect(ok('flat PA01 a24088')).toEqual({ kind: 'flat', device: 'PA01', pollutant: 'a24088' });
    expect(ok('treatment-off PW01')).toEqual({ kind: 'treatment-off', device: 'PW01' });
    expect(ok('request-key GA01')).toEqual({ kind: 'request-key', device: 'GA01' });
    expect(ok('status')).toEqual({ kind: 'status' });
    expect(ok('help')).toEqual({ kind: 'help' });
    expect(ok('quit')).toEqual({ kind: 'quit' });
    expect(ok('exit')).toEqual({ kind: 'quit' });
  });

  it('accepts HJ/T 212-2005 pollutant codes', () => {
    expect(ok('exceed PW01 011 2')).toMatchObject({ pollutant: 'w01018' });
    expect(pollutantCode('060')).toBe('w21003');
    expect(pollutantCode('nope')).toBeUndefined();
  });

  it('explains what is wrong', () => {
    expect(error('')).toMatch(/empty command/);
    expect(error('explode BW01')).toMatch(/unknown command "explode"/);
    expect(error('exceed BW01 cod')).toBe('exceed needs 3 arguments: exceed <mn> <pollutant> <factor>');
    expect(error('exceed BW01 cod two')).toMatch(/factor must be a positive number, got "two"/);
    expect(error('exceed BW01 cod -1')).toMatch(/factor must be a positive number/);
    expect(error('exceed BW01 sugar 2')).toMatch(/"sugar" is not a pollutant code/);
    expect(error('badcrc FA01 1.5')).toMatch(/count must be a positive integer/);
    expect(error('flag GA01 nox X')).toMatch(/flag must be one of N F M S D C T B/);
    expect(error('gap AB01')).toMatch(/gap needs 2 arguments/);
    expect(error('status now')).toMatch(/status takes no arguments/);
  });
});

describe('parseDuration', () => {
  it('reads seconds, minutes and hours', () => {
    expect(parseDuration('10m')).toBe(600_000);
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('30')).toBe(30_000);
    expect(parseDuration('soon')).toMatch(/invalid duration/);
  });
});
