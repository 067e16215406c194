import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from './hex';

describe('toHex', () => {
  it('encodes the empty array as the empty string', () => {
    expect(toHex(new Uint8Array())).toBe('');
  });

  it('encodes every byte value as two lower-case digits', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const hex = toHex(all);
    expect(hex).toHaveLength(512);
    expect(hex.slice(0, 8)).toBe('00010203');
    expect(hex.slice(-8)).toBe('fcfdfeff');
    expect(hex).toBe(Buffer.from(all).toString('hex'));
  });

  it('reads only the view, not the whole buffer', () => {
    const buf = Uint8Array.from([1, 2, 3, 4, 5]);
    expect(toHex(buf.subarray(1, 3))).toBe('0203');
  });
});

describe('fromHex', () => {
  it('decodes both cases', () => {
    expect(fromHex('00ff7FaB')).toEqual(Uint8Array.from([0x00, 0xff, 0x7f, 0xab]));
  });

  it('decodes the empty string', () => {
    expect(fromHex('')).toEqual(new Uint8Array());
  });

  it('round-trips with toHex', () => {
    const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7919) & 0xff);
    expect(fromHex(toHex(bytes))).toEqual(bytes);
  });

  it('throws TypeError on odd length', () => {
    expect(() => fromHex('abc')).toThrow(TypeError);
    expect(() => fromHex('0')).toThrow(/odd length/);
  });

  it('throws TypeError on non-hex characters', () => {
    for (const bad of ['zz', '0g', 'g0', '0x00', ' 0', '0 ', '+1', '\u00e90']) {
      expect(() => fromHex(bad), bad).toThrow(TypeError);
    }
  });
});
