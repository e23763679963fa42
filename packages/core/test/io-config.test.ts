import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/errors.js';
import {
  configArray,
  configBoolean,
  configInteger,
  configIntegerArray,
  configNumber,
  configNumberArray,
  configObject,
  configOptional,
  configString,
  configStringArray,
  ConfigReader,
  loadConfig,
} from '../src/io/config.js';
import { startRangeServer, type RangeServer } from './helpers/range-server.js';

const FIX = '/work/shared/fixtures';
let tmp: string;
let server: RangeServer;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'sdxs-config-'));
  await mkdir(join(tmp, 'unet'));
  await writeFile(join(tmp, 'unet', 'config.json'), '\ufeff{"a": 1, "custom_key": [1, 2]}');
  await writeFile(join(tmp, 'bad.json'), '{"a": ');
  await writeFile(join(tmp, 'array.json'), '[1]');
  const cfg = new TextEncoder().encode('{"shift": 5.0}');
  server = await startRangeServer(new Map([['/repo/scheduler/scheduler_config.json', { body: cfg }]]));
});
afterAll(async () => {
  await server.close();
  await rm(tmp, { recursive: true, force: true });
});

describe('loadConfig', () => {
  it('reads fixture configs with unknown keys kept', async () => {
    const vae = await loadConfig(join(FIX, 'diffusers'), 'vae-tiny');
    expect(vae._class_name).toBe('AsymmetricAutoencoderKL');
    expect(configNumberArray(vae, 'latents_mean', 'vae', undefined, 32)).toHaveLength(32);
    const sched = await loadConfig(join(FIX, 'diffusers/scheduler-flow-shift5'), undefined, 'scheduler_config.json');
    expect(configNumber(sched, 'shift', 'x')).toBe(5);
    expect(configOptional(sched, 'shift_terminal')).toBeUndefined();
    const local = await loadConfig(tmp, 'unet');
    expect(local).toEqual({ a: 1, custom_key: [1, 2] });
  });

  it('reads over HTTP', async () => {
    const c = await loadConfig(`${server.url}/repo`, 'scheduler', 'scheduler_config.json');
    expect(c).toEqual({ shift: 5 });
    await expect(loadConfig(`${server.url}/repo`, 'vae')).rejects.toThrow(/repo\/vae\/config\.json: config file not found/);
  });

  it('names the file on missing files, bad JSON and non-objects', async () => {
    await expect(loadConfig(tmp, 'nope')).rejects.toThrow(new RegExp(`${join(tmp, 'nope', 'config.json')}: config file not found`));
    await expect(loadConfig(tmp, undefined, 'bad.json')).rejects.toThrow(/bad\.json: config is not valid JSON/);
    await expect(loadConfig(tmp, undefined, 'array.json')).rejects.toBeInstanceOf(ConfigError);
  });
});

describe('config accessors', () => {
  const cfg = { n: 1.5, i: 4, s: 'silu', b: true, arr: [1, 2], sarr: ['a'], obj: { x: 1 }, nul: null, mixed: [1, 'a'] };
  it('return typed values and fallbacks', () => {
    expect(configNumber(cfg, 'n', 'f')).toBe(1.5);
    expect(configInteger(cfg, 'i', 'f')).toBe(4);
    expect(configString(cfg, 's', 'f')).toBe('silu');
    expect(configBoolean(cfg, 'b', 'f')).toBe(true);
    expect(configArray(cfg, 'mixed', 'f')).toEqual([1, 'a']);
    expect(configIntegerArray(cfg, 'arr', 'f')).toEqual([1, 2]);
    expect(configStringArray(cfg, 'sarr', 'f')).toEqual(['a']);
    expect(configObject(cfg, 'obj', 'f')).toEqual({ x: 1 });
    expect(configNumber(cfg, 'missing', 'f', 7)).toBe(7);
    expect(configNumber(cfg, 'nul', 'f', 7)).toBe(7);
  });
  it('throw ConfigError naming key and file', () => {
    const check = (fn: () => unknown, re: RegExp): void => {
      expect(fn).toThrow(ConfigError);
      expect(fn).toThrow(re);
    };
    check(() => configNumber(cfg, 's', 'unet/config.json'), /unet\/config\.json: key 's' should be a number but is "silu"/);
    check(() => configInteger(cfg, 'n', 'c.json'), /key 'n' should be an integer/);
    check(() => configString(cfg, 'missing', 'c.json'), /c\.json: key 'missing' is missing/);
    check(() => configBoolean(cfg, 'nul', 'c.json'), /key 'nul' is null/);
    check(() => configNumberArray(cfg, 'mixed', 'c.json'), /array of numbers/);
    check(() => configNumberArray(cfg, 'arr', 'c.json', undefined, 3), /has 2 entries; expected 3/);
    check(() => configArray(cfg, 'obj', 'c.json'), /should be an array but is an object/);
    check(() => configObject(cfg, 'arr', 'c.json'), /should be an object but is an array/);
    check(() => configNumber({}, 'toString', 'c.json'), /key 'toString' is missing/); // own keys only
  });
});

describe('ConfigReader', () => {
  const json = { text_config: { hidden_size: 64, heads: '4', deep: { eps: 0 } }, layers: 1e9, nul: null };
  it('names nested keys with their path and the file', () => {
    const r = ConfigReader.of(json, 'm/config.json');
    const t = r.section('text_config')!;
    expect(t.integer('hidden_size', undefined, 1, 128)).toBe(64);
    expect(() => t.integer('heads')).toThrow(/m\/config\.json: key 'text_config\.heads' should be an integer but is "4"/);
    expect(() => t.integer('hidden_size', undefined, 1, 32)).toThrow(/key 'text_config\.hidden_size' must be an integer in \[1, 32\], got 64/);
    expect(() => t.section('deep')!.positive('eps')).toThrow(/key 'text_config\.deep\.eps' must be a number > 0/);
    expect(() => t.number('missing')).toThrow(/key 'text_config\.missing' is missing; expected a number/);
    expect(() => ConfigReader.of([1], 'a.json')).toThrow(/a\.json: config is not a JSON object/);
    expect(() => ConfigReader.of(3, 'a.json', 'text_config.')).toThrow(/a\.json: key 'text_config' must be an object/);
  });
  it('treats null as unset and bounds only values that are set', () => {
    const r = new ConfigReader(json, 'c.json');
    expect(r.has('nul')).toBe(false);
    expect(r.integer('nul', 7, 1, 4)).toBe(7);
    expect(r.section('nul')).toBeUndefined();
    expect(() => r.integer('layers', 2, 1, 64)).toThrow(ConfigError);
    expect(() => r.integer('nul')).toThrow(/key 'nul' is null; expected an integer/);
  });
});
