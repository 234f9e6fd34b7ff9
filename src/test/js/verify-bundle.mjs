// Independent, offline check of a key-based Sigstore bundle written by Cloister (used by InteropTest).
//
// Usage: node verify-bundle.mjs <bundle.json> <public-key.pem>
// Exit 0: the bundle parses as a Sigstore bundle, its key hint is the SHA-256 of the key's PEM text and the DSSE
// signature verifies; the signed in-toto statement is printed on stdout as JSON. Exit 1: verification failed
// (reason on stderr). Exit 2: usage error.
//
// It uses the low-level @sigstore/verify API with an empty trusted root and no tlog, CT log or timestamp
// thresholds, because sigstore.verify() fetches trust metadata from the internet first (DESIGN.md, "Formats").
import { readFileSync } from 'node:fs';
import { createHash, createPublicKey } from 'node:crypto';
import sigstoreBundle from '@sigstore/bundle';
import sigstoreVerify from '@sigstore/verify';

const { bundleFromJSON } = sigstoreBundle;
const { Verifier, toSignedEntity, toTrustMaterial } = sigstoreVerify;

const emptyTrustedRoot = {
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [],
  certificateAuthorities: [],
  ctlogs: [],
  timestampAuthorities: [],
};

function main(argv) {
  if (argv.length !== 2) {
    console.error('usage: node verify-bundle.mjs <bundle.json> <public-key.pem>');
    return 2;
  }
  const [bundlePath, keyPath] = argv;
  try {
    const publicKey = createPublicKey(readFileSync(keyPath, 'utf8'));
    // Node writes SPKI PEM with 64-column lines, LF endings and a trailing LF: the text the key id hashes.
    const keyId = createHash('sha256').update(publicKey.export({ type: 'spki', format: 'pem' })).digest('hex');
    const bundle = bundleFromJSON(JSON.parse(readFileSync(bundlePath, 'utf8')));
    const keyFinder = (hint) => {
      if (hint !== keyId) {
        throw new Error(`key hint ${hint} is not the id ${keyId} of the given public key`);
      }
      return { publicKey, validFor: () => true };
    };
    const verifier = new Verifier(toTrustMaterial(emptyTrustedRoot, keyFinder), {
      tlogThreshold: 0,
      ctlogThreshold: 0,
      timestampThreshold: 0,
    });
    verifier.verify(toSignedEntity(bundle));
    const envelope = bundle.content.dsseEnvelope;
    const statement = JSON.parse(Buffer.from(envelope.payload).toString('utf8'));
    process.stdout.write(JSON.stringify({ verified: true, keyId, payloadType: envelope.payloadType, statement }));
    process.stdout.write('\n');
    return 0;
  } catch (e) {
    console.error(`verification failed: ${e && e.message ? e.message : e}`);
    return 1;
  }
}

process.exitCode = main(process.argv.slice(2));
