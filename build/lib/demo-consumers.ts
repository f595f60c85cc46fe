/**
 * The demo's consumer map: jack from the APISIX seed documents (HS256), plus
 * an RS256 and an ES256 consumer whose key pairs are made fresh at start, so
 * no private key ever lives in the repository.
 */
import { CryptoKey, exportSPKI, generateKeyPair, SignJWT } from 'jose';

export const JACK = {
  username: 'jack',
  customId: '495aec6a',
  credentialId: 'cred-jack-jwt-auth',
  key: 'jack-key',
  secret: 'jack-hs256-secret-that-is-very-long',
  /** The token printed in the seed documents (payload {"key":"jack-key","nbf":1729132271}). */
  seedToken:
    'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJrZXkiOiJqYWNrLWtleSIsIm5iZiI6MTcyOTEzMjI3MX0.UEPXy5jpid624T1XpfjM0PLY73LZPjV3Qt8yZ92kVuU',
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
  document: { consumers: object[] };
  consumers: DemoConsumer[];
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
    consumers: [
      {
        username: JACK.username,
        labels: { custom_id: JACK.customId },
        credentials: [{ id: JACK.credentialId, key: JACK.key, secret: JACK.secret }],
      },
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
  return { document, consumers };
}

/** A token for a demo consumer, valid for `seconds`. */
export function tokenFor(consumer: DemoConsumer, seconds = 3600): Promise<string> {
  return new SignJWT({ key: consumer.key, sub: consumer.username })
    .setProtectedHeader({ alg: consumer.alg, typ: 'JWT' })
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + seconds)
    .sign(consumer.signingKey);
}
