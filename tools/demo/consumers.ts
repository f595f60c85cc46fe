/**
 * The demo's consumer map: jack from the APISIX seed documents (HS256, limited
 * to 3 requests per 30 s), the anonymous consumer (1 per 30 s), plus an RS256
 * and an ES256 consumer whose key pairs are made fresh at start, so no private
 * key ever lives in the repository.
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CryptoKey, exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { rateLimitConfig } from '../../cli/rate-limits';

/** The consumer map's JSON Schema in this checkout, as the demo's map names it for an editor (the map lives in nginx's prefix, a temporary folder). */
export const CONSUMERS_SCHEMA = pathToFileURL(
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'nginx', 'schemas', 'consumers.schema.json'),
).href;

export const JACK = {
  username: 'jack',
  customId: '495aec6a',
  credentialId: 'cred-jack-jwt-auth',
  key: 'jack-key',
  secret: 'jack-hs256-secret-that-is-very-long',
  /** The token printed in the seed documents (payload {"key":"jack-key","nbf":1729132271}). */
  seedToken: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJrZXkiOiJqYWNrLWtleSIsIm5iZiI6MTcyOTEzMjI3MX0.UEPXy5jpid624T1XpfjM0PLY73LZPjV3Qt8yZ92kVuU',
};

export interface DemoConsumer {
  username: string;
  credentialId: string;
  key: string;
  alg: 'HS256' | 'RS256' | 'ES256';
  /** HMAC secret bytes or the private key. */
  signingKey: CryptoKey | Uint8Array;
}

export interface DemoSetup {
  /** consumers.json content. */
  document: { $schema: string; consumers: object[] };
  consumers: DemoConsumer[];
  /** Files the demo config includes from its prefix: the consumer map and the rate limits generated from it. */
  files: { [name: string]: string };
}

export async function demoSetup(): Promise<DemoSetup> {
  const rsa = await generateKeyPair('RS256', { modulusLength: 2048 });
  const ec = await generateKeyPair('ES256');
  const consumers: DemoConsumer[] = [
    { username: JACK.username, credentialId: JACK.credentialId, key: JACK.key, alg: 'HS256', signingKey: new TextEncoder().encode(JACK.secret) },
    { username: 'alice', credentialId: 'cred-alice-rs256', key: 'alice-key', alg: 'RS256', signingKey: rsa.privateKey },
    { username: 'bob', credentialId: 'cred-bob-es256', key: 'bob-key', alg: 'ES256', signingKey: ec.privateKey },
  ];
  const document = {
    $schema: CONSUMERS_SCHEMA,
    consumers: [
      {
        username: JACK.username,
        labels: { custom_id: JACK.customId },
        limit: { count: 3, time_window: 30, rejected_code: 429 },
        credentials: [{ id: JACK.credentialId, key: JACK.key, secret: JACK.secret }],
      },
      // The route's anonymous consumer (APISIX anonymous_consumer): requests without a valid token.
      { username: 'anonymous', limit: { count: 1, time_window: 30, rejected_code: 429 }, credentials: [] },
      {
        username: 'alice',
        credentials: [{ id: 'cred-alice-rs256', key: 'alice-key', algorithm: 'RS256', public_key: await exportSPKI(rsa.publicKey) }],
      },
      {
        username: 'bob',
        credentials: [{ id: 'cred-bob-es256', key: 'bob-key', algorithm: 'ES256', public_key: await exportSPKI(ec.publicKey) }],
      },
    ],
  };
  const limits = rateLimitConfig(document, 'consumers.json');
  const files = {
    'consumers.json': JSON.stringify(document, null, 2),
    'jwt-rate-limit-zones.conf': limits.zones,
    'jwt-rate-limits.conf': limits.limits,
  };
  return { document, consumers, files };
}

/** A token for a demo consumer, valid for `seconds`. */
export function tokenFor(consumer: DemoConsumer, seconds = 3600): Promise<string> {
  return new SignJWT({ key: consumer.key, sub: consumer.username })
    .setProtectedHeader({ alg: consumer.alg, typ: 'JWT' })
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + seconds)
    .sign(consumer.signingKey);
}
