/**
 * The JSON Schemas of nginx/schemas/ (build/schemas.ts, from cli/fields.ts):
 * committed as generated, valid draft 2020-12, met by every consumer map, JWK
 * Set and deny list the repository ships, and refusing what `check` refuses
 * for a field's name or type. A `"$schema"` member changes nothing: `check`
 * passes it and the gateway's core reads the file as without it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020';
import { checkDocument } from '../../cli/check';
import { CONSUMER_MAP, DENY_LIST, DocumentSpec, JWK_SET } from '../../cli/fields';
import { indexDocument, indexedText } from '../../cli/index';
import { schemaFiles, SCHEMA_DIR } from '../../build/schemas';
import { findAlgorithm } from '../../njs/core/algorithms';
import { authenticate } from '../../njs/core/authenticate';
import { consumersSource } from '../../njs/core/keys/consumers';
import { jwksSource } from '../../njs/core/keys/jwks';
import { revokedBy } from '../../njs/core/revocation';
import { CONSUMERS_SCHEMA, demoSetup } from '../../tools/demo/consumers';
import { CAPS, expectOk, JACK, jackConsumer, NOW, policy, publicJwk, testKeyPairs } from '../support/core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
const readJson = (file: string) => JSON.parse(read(file));

const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false });
for (const document of [CONSUMER_MAP, JWK_SET, DENY_LIST]) ajv.addSchema(readJson(SCHEMA_DIR + '/' + document.schemaFile), document.schemaFile);

/** The schema's errors for `value` ([] when it validates). */
function schemaErrors(spec: DocumentSpec | null, value: unknown): string[] {
  if (!spec) return ['no document'];
  const validate = ajv.getSchema(spec.schemaFile)!;
  return validate(value) ? [] : validate.errors!.map((error) => error.instancePath + ' ' + error.message);
}

const checked = (value: unknown) => checkDocument('/etc/nginx/jwt/file.json', new Uint8Array(Buffer.from(JSON.stringify(value))), CAPS);

/** Which document a file is, as `check` tells them apart; null for none. */
function specOf(value: { [name: string]: unknown }): DocumentSpec | null {
  if ('consumers' in value) return CONSUMER_MAP;
  if ('keys' in value) return JWK_SET;
  return 'jti' in value || 'sub' in value || 'kid' in value ? DENY_LIST : null;
}

/** The README's ```json blocks that are whole documents (not a fragment such as one credential), by line. */
function readmeDocuments(): [number, { [name: string]: unknown }][] {
  const found: [number, { [name: string]: unknown }][] = [];
  const lines = read('README.md').split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== '```json') continue;
    const end = lines.indexOf('```', i + 1);
    try {
      const value = JSON.parse(lines.slice(i + 1, end).join('\n'));
      if (value !== null && typeof value === 'object' && specOf(value)) found.push([i + 2, value]);
    } catch {
      // a fragment with "..." in it
    }
  }
  return found;
}

test.each(Object.entries(schemaFiles()))('%s is as cli/fields.ts generates it (else: npm run snippets)', (file, text) => {
  expect(read(file)).toBe(text);
});

test('package.json ships the schemas', () => {
  expect(readJson('package.json').files).toContain(SCHEMA_DIR + '/*.json');
});

test('each schema is a draft 2020-12 schema that ajv compiles in strict mode', () => {
  for (const spec of [CONSUMER_MAP, JWK_SET, DENY_LIST]) {
    const schema = readJson(SCHEMA_DIR + '/' + spec.schemaFile);
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(ajv.validateSchema(schema)).toBe(true);
    expect(typeof ajv.getSchema(spec.schemaFile)).toBe('function');
  }
});

describe('every consumer map, JWK Set and deny list of the repository meets its schema', () => {
  const files = ['docker/demo/data/consumers.json', 'test/fixtures/rfc7520-jwks.json'];
  test.each(files)('%s', (file) => {
    const value = readJson(file);
    expect(schemaErrors(specOf(value), value)).toEqual([]);
  });

  test('the JWK Set of test/fixtures/kid-revocation.json', () => {
    expect(schemaErrors(JWK_SET, readJson('test/fixtures/kid-revocation.json').jwks)).toEqual([]);
  });

  test('README.md has a consumer map and a deny list in its examples', () => {
    expect(readmeDocuments().map(([, value]) => specOf(value)!.title)).toEqual(expect.arrayContaining([CONSUMER_MAP.title, DENY_LIST.title]));
  });

  test.each(readmeDocuments())('README.md:%s', (_line, value) => {
    expect(schemaErrors(specOf(value), value)).toEqual([]);
  });

  test("the demo's map (tools/demo), which names the schema by a file URL an editor opens", async () => {
    const { document, files } = await demoSetup();
    expect(document.$schema).toBe(CONSUMERS_SCHEMA);
    expect(CONSUMERS_SCHEMA).toMatch(/^file:\/\/.*\/nginx\/schemas\/consumers\.schema\.json$/);
    expect(JSON.parse(files['consumers.json'])).toEqual(document);
    expect(schemaErrors(CONSUMER_MAP, document)).toEqual([]);
    expect(checked(document)).toEqual([]);
  });

  test('the "$schema" of docker/demo/data/consumers.json leads to the schema from where the file is', () => {
    const schema = readJson('docker/demo/data/consumers.json').$schema;
    expect(path.resolve(ROOT, 'docker/demo/data', schema)).toBe(path.join(ROOT, SCHEMA_DIR, CONSUMER_MAP.schemaFile));
  });

  test('files `jwt-gateway index` writes: a consumer map with its layout, a JWK Set with its index', () => {
    const map = JSON.parse(indexedText(readJson('docker/demo/data/consumers.json')));
    expect(map.index.layout).toMatch(/^jwt-gateway positions/);
    expect(schemaErrors(CONSUMER_MAP, map)).toEqual([]);
    const jwks = indexDocument(readJson('test/fixtures/rfc7520-jwks.json')) as { index: unknown };
    expect(jwks.index).toBeDefined();
    expect(schemaErrors(JWK_SET, jwks)).toEqual([]);
  });
});

const keys = testKeyPairs();

describe('what `check` refuses for a field name or type, the schema refuses too', () => {
  const credential = (fields: object) => ({ consumers: [{ username: 'a', credentials: [{ id: 'c', key: 'k', secret: JACK.secret, ...fields }] }] });
  const jwk = (fields: object) => ({ keys: [{ ...publicJwk(keys.p256.publicKey), kid: 'e', ...fields }] });
  test.each([
    ['an unknown credential field', credential({ secert: 'typo' })],
    ['an unknown consumer field', { consumers: [{ username: 'a', credentails: [], credentials: [] }] }],
    ['a username that is not a string', { consumers: [{ username: 7, credentials: [] }] }],
    ['an empty username', { consumers: [{ username: '', credentials: [] }] }],
    ['credentials that are not an array', { consumers: [{ username: 'a', credentials: { key: 'k' } }] }],
    ['consumers that are not an array', { consumers: { a: {} } }],
    ['a credential without key', credential({ key: undefined })],
    ['a key that is not a string', credential({ key: 42 })],
    ['an algorithm that is not supported', credential({ algorithm: 'none' })],
    ['a grace period that is text', credential({ lifetime_grace_period: '10' })],
    ['a negative grace period', credential({ lifetime_grace_period: -1 })],
    ['a secret that is not a string', credential({ secret: 12345 })],
    ['an RS256 credential without public_key', credential({ algorithm: 'RS256', secret: undefined })],
    ['a limit count of 0', { consumers: [{ username: 'a', limit: { count: 0, time_window: 30 }, credentials: [] }] }],
    [
      'a rejected_code that is not an error status',
      { consumers: [{ username: 'a', limit: { count: 1, time_window: 30, rejected_code: 200 }, credentials: [] }] },
    ],
    ['keys that are not an array', { keys: { a: 1 } }],
    ['a key that is not an object', { keys: [42] }],
    ['an unknown kty', { keys: [{ kty: 'DSA', kid: 'd' }] }],
    ['an alg that is not supported', jwk({ alg: 'none' })],
    ['an encryption key', jwk({ use: 'enc' })],
    ['key_ops without verify', jwk({ key_ops: ['sign'] })],
    ['a private key', { keys: [{ kty: 'oct', kid: 'o', k: 'c2VjcmV0', d: 'x' }] }],
    ['an RSA modulus that is not base64url', { keys: [{ kty: 'RSA', kid: 'r', n: 'not+base64url', e: 'AQAB' }] }],
    ['an EC key without y', jwk({ y: undefined })],
    ['an unknown curve', jwk({ crv: 'P-192' })],
    ['a deny list with an unknown member', { jti: ['a'], color: [] }],
    ['a deny list whose jti is text', { jti: 'a' }],
    ['a deny list with a value that is not a string', { sub: ['mallory', 7] }],
  ])('%s', (_name, value) => {
    const document = JSON.parse(JSON.stringify(value));
    expect(checked(document)).not.toEqual([]);
    expect(schemaErrors(specOf(document), document)).not.toEqual([]);
  });
});

describe('"$schema": check passes it, the gateway reads the files as without it', () => {
  const map = { consumers: [jackConsumer()] };
  const set = { keys: [{ ...publicJwk(keys.p256.publicKey), kid: 'e', alg: 'ES256' }] };
  const denyList = { jti: ['a'], sub: { mallory: 'left' }, kid: [] };
  const named = (document: object, spec: DocumentSpec) => ({ $schema: '../schemas/' + spec.schemaFile, ...document });

  test.each([
    ['a consumer map', map, CONSUMER_MAP],
    ['a JWK Set', set, JWK_SET],
    ['a deny list', denyList, DENY_LIST],
  ])('%s with "$schema": no problem for check, and the schema accepts it', (_name, document, spec) => {
    expect(checked(document)).toEqual([]);
    expect(checked(named(document, spec))).toEqual([]);
    expect(schemaErrors(spec, named(document, spec))).toEqual([]);
  });

  test('an indexed consumer map with "$schema" (the layout keeps it, after the consumers) passes check', () => {
    const text = indexedText(named(map, CONSUMER_MAP));
    expect(JSON.parse(text).$schema).toBe('../schemas/consumers.schema.json');
    expect(checkDocument('/etc/nginx/jwt/consumers.json', new Uint8Array(Buffer.from(text)), CAPS)).toEqual([]);
  });

  test('a deny list with "$schema" alone is still no document check knows', () => {
    expect(checked({ $schema: 'x' })).toEqual([expect.objectContaining({ message: expect.stringMatching(/^not a consumer map/) })]);
  });

  test('the same token verifies as the same consumer, with and without "$schema", indexed or not', async () => {
    for (const document of [map, indexDocument(map)]) {
      const plain = expectOk(await authenticate(JACK.seedToken, consumersSource(document, 'map', CAPS), policy(), NOW));
      const withSchema = expectOk(await authenticate(JACK.seedToken, consumersSource(named(document, CONSUMER_MAP), 'map', CAPS), policy(), NOW));
      expect(withSchema.identity).toEqual(plain.identity);
      expect(withSchema.identity).toEqual({ consumer: 'jack', credential: JACK.credentialId, customId: JACK.customId });
    }
  });

  test('a JWK Set finds the same keys, and a deny list revokes the same tokens', () => {
    const lookup = (document: object) =>
      jwksSource(document, 'jwks', CAPS).lookup({ header: { alg: 'ES256', kid: 'e' }, payload: {} }, findAlgorithm('ES256')!, { keyClaim: 'key' });
    expect(lookup(named(set, JWK_SET))).toEqual(lookup(set));
    const token = { header: {}, payload: { sub: 'mallory' } };
    expect(revokedBy(named(denyList, DENY_LIST), token)).toBe(revokedBy(denyList, token));
    expect(revokedBy(named(denyList, DENY_LIST), token)).toBe('sub "mallory"');
    expect(revokedBy(named(denyList, DENY_LIST), { header: {}, payload: { sub: 'x', jti: '$schema' } })).toBeNull();
  });
});
