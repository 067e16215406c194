import { describe, expect, it } from 'vitest';
import { DEFAULT_OPTIONS, coreOptionsJson, resolveOptions } from './options';

describe('resolveOptions', () => {
  it('gives the published defaults when nothing is set', () => {
    const o = resolveOptions(undefined);
    expect(o).toEqual(DEFAULT_OPTIONS);
    expect(o.clientId).toBe('smolmix-wasm');
    expect(o.forceTls).toBe(true);
    expect(o.openReplySurbs).toBe(10);
    expect(o.dataReplySurbs).toBe(2);
    expect(o.primaryDns).toBe('8.8.8.8:53');
    expect(o.fallbackDns).toBe('1.1.1.1:53');
    expect(o.maxRedirects).toBe(5);
  });

  it('keeps what the caller set, and treats undefined as the default', () => {
    const o = resolveOptions({ forceTls: false, clientId: 'abc', maxRedirects: undefined, nymApiUrl: 'http://x/api/' });
    expect(o.forceTls).toBe(false);
    expect(o.clientId).toBe('abc');
    expect(o.maxRedirects).toBe(5);
    expect(o.nymApiUrl).toBe('http://x/api/');
  });

  it('names an unknown option in a TypeError', () => {
    expect(() => resolveOptions({ forceTLS: true })).toThrow(TypeError);
    expect(() => resolveOptions({ forceTLS: true })).toThrow(/"forceTLS"/);
  });

  it('names an ill-typed option in a TypeError', () => {
    expect(() => resolveOptions({ forceTls: 'yes' })).toThrow(/"forceTls" must be a boolean/);
    expect(() => resolveOptions({ maxRedirects: 300 })).toThrow(/"maxRedirects"/);
    expect(() => resolveOptions({ openReplySurbs: 1.5 })).toThrow(/"openReplySurbs"/);
    expect(() => resolveOptions({ connectTimeoutMs: -1 })).toThrow(TypeError);
    expect(() => resolveOptions({ clientId: 7 })).toThrow(/"clientId" must be a string/);
  });

  it('wants DNS servers as ip:port, as published', () => {
    expect(resolveOptions({ primaryDns: '9.9.9.9:53' }).primaryDns).toBe('9.9.9.9:53');
    expect(() => resolveOptions({ primaryDns: '9.9.9.9' })).toThrow(/"primaryDns"/);
    expect(() => resolveOptions({ fallbackDns: '256.1.1.1:53' })).toThrow(TypeError);
    expect(() => resolveOptions({ fallbackDns: '1.1.1.1:65536' })).toThrow(TypeError);
  });

  it('refuses options that are not an object', () => {
    expect(() => resolveOptions('x')).toThrow(TypeError);
    expect(() => resolveOptions([])).toThrow(TypeError);
  });
});

describe('coreOptionsJson', () => {
  it('passes what the core reads and leaves out absent optional ones', () => {
    const json = JSON.parse(coreOptionsJson(resolveOptions({ preferredIpr: 'abc', extraTrustAnchors: 'PEM' })));
    expect(json).toMatchObject({ preferredIpr: 'abc', extraTrustAnchors: 'PEM', forceTls: true, clientId: 'smolmix-wasm' });
    expect(json).not.toHaveProperty('preferredGateway');
    expect(json).not.toHaveProperty('storagePassphrase');
  });
});
