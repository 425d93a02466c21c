import { describe, expect, it } from 'vitest';
import { b64url, seal, unseal } from './index.ts';

const key = () => crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']) as Promise<CryptoKey>;

describe('sealed values', () => {
  it('open under the key and associated data they were sealed with, and under no other', async () => {
    const [k1, k2] = [await key(), await key()];
    const token = await seal(k1, 'lb1', ['p', 'a', 123]);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(await unseal(k1, 'lb1', token, 1024)).toEqual(['p', 'a', 123]);
    expect(await unseal([k2, k1], 'lb1', token, 1024)).toEqual(['p', 'a', 123]); // any key of a list
    expect(await unseal(k2, 'lb1', token, 1024)).toBeUndefined();
    expect(await unseal(k1, 'lb2', token, 1024)).toBeUndefined();
  });

  it('read client input that is not a sealed value as none, without throwing', async () => {
    const k = await key();
    const token = await seal(k, 'x', { a: 1 });
    const flipped = token.slice(0, 20) + (token[20] === 'A' ? 'B' : 'A') + token.slice(21);
    for (const bad of [undefined, '', 'not base64!', 'abc', flipped, token + 'A', token.slice(0, 30)])
      expect(await unseal(k, 'x', bad, 1024), String(bad)).toBeUndefined();
    expect(await unseal(k, 'x', token, token.length - 1)).toBeUndefined(); // over the length cap
  });

  it('use the nonce it is given, and base64url without padding', async () => {
    const k = await key();
    const fixed = (b: Uint8Array<ArrayBuffer>) => b.fill(7);
    expect(await seal(k, 'x', 1, fixed)).toBe(await seal(k, 'x', 1, fixed));
    expect(await seal(k, 'x', 1)).not.toBe(await seal(k, 'x', 1));
    expect(b64url(new Uint8Array([0xfb, 0xff]))).toBe('-_8');
  });
});
