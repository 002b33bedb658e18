import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../config/options.js';
import { generateCerts, type TestCerts } from '../test-support/certs.js';
import { checkTlsFiles } from './tls-files.js';

let certs: TestCerts;
beforeAll(() => (certs = generateCerts()));
afterAll(() => rmSync(certs.dir, { recursive: true, force: true }));

test('a certificate, its key and a CA pass', () => {
  expect(() => checkTlsFiles({ certFile: certs.serverCert, keyFile: certs.serverKey, clientCaFile: certs.caCert })).not.toThrow();
});

test.each([
  ['swapped', () => ({ certFile: certs.serverKey, keyFile: certs.serverCert }), () => `--tls-cert (AMADEUS_TLS_CERT): ${certs.serverKey} is not a PEM certificate (it holds a private key: swapped with --tls-key?)`],
  ['a certificate as the key', () => ({ certFile: certs.serverCert, keyFile: certs.clientCert }), () => `--tls-key (AMADEUS_TLS_KEY): ${certs.clientCert} is not a PEM private key (unencrypted) (it holds a certificate: swapped with --tls-cert?)`],
  ['another certificate\'s key', () => ({ certFile: certs.serverCert, keyFile: certs.clientKey }), () => `--tls-key (AMADEUS_TLS_KEY): ${certs.clientKey} is not the key of the certificate in --tls-cert ${certs.serverCert}`],
  ['a key as the client CA', () => ({ certFile: certs.serverCert, keyFile: certs.serverKey, clientCaFile: certs.serverKey }), () => `--tls-client-ca (AMADEUS_TLS_CLIENT_CA): ${certs.serverKey} is not a PEM certificate`],
  ['a missing file', () => ({ certFile: '/nonexistent/tls.crt', keyFile: certs.serverKey }), () => '--tls-cert (AMADEUS_TLS_CERT): cannot read /nonexistent/tls.crt'],
])('%s: a usage error naming the flag, its variable and the file', (_what, tls, message) => {
  expect(() => checkTlsFiles(tls())).toThrow(UsageError);
  expect(() => checkTlsFiles(tls())).toThrow(message());
});

test('PEM armour around no certificate is not one', () => {
  const file = join(certs.dir, 'garbage.crt');
  writeFileSync(file, '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n');
  expect(() => checkTlsFiles({ certFile: file, keyFile: certs.serverKey })).toThrow(`${file} is not a PEM certificate`);
});
