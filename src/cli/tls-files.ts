/**
 * `amadeus serve`'s TLS files, checked at start-up: a certificate and key swapped, or a file that is
 * no PEM, reached gRPC as "cannot listen on …: PEM routines::no start line" (exit 1), naming
 * neither the flag nor the file.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { MAX_TLS_FILE_BYTES, readFailure, readSmallFile } from '../files/small-file.js';
import { UsageError } from '../config/options.js';
import type { TlsFiles } from '../scaler/server.js';

const CERT = '--tls-cert (AMADEUS_TLS_CERT)';
const KEY = '--tls-key (AMADEUS_TLS_KEY)';
const CA = '--tls-client-ca (AMADEUS_TLS_CLIENT_CA)';

function read(file: string, flag: string): string {
  try {
    return readSmallFile(file, MAX_TLS_FILE_BYTES).toString('utf8');
  } catch (err) {
    throw new UsageError(`${flag}: cannot read ${file}: ${readFailure(err)}`);
  }
}

const isCertificate = (pem: string) => pem.includes('-----BEGIN CERTIFICATE-----');
const isPrivateKey = (pem: string) => /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem);

function certificate(file: string, pem: string, flag: string): X509Certificate {
  const swapped = flag === CERT && isPrivateKey(pem) ? ' (it holds a private key: swapped with --tls-key?)' : '';
  try {
    if (isCertificate(pem)) return new X509Certificate(pem);
  } catch {
    // Said below.
  }
  throw new UsageError(`${flag}: ${file} is not a PEM certificate${swapped}`);
}

function privateKey(file: string, pem: string): KeyObject {
  const swapped = isCertificate(pem) && !isPrivateKey(pem) ? ' (it holds a certificate: swapped with --tls-cert?)' : '';
  try {
    if (isPrivateKey(pem)) return createPrivateKey(pem);
  } catch {
    // Said below.
  }
  throw new UsageError(`${KEY}: ${file} is not a PEM private key (unencrypted)${swapped}`);
}

/** Throws a UsageError naming the flag and the file when a TLS file cannot serve. */
export function checkTlsFiles(tls: TlsFiles): void {
  const cert = certificate(tls.certFile, read(tls.certFile, CERT), CERT);
  const key = privateKey(tls.keyFile, read(tls.keyFile, KEY));
  if (!cert.checkPrivateKey(key)) throw new UsageError(`${KEY}: ${tls.keyFile} is not the key of the certificate in --tls-cert ${tls.certFile}`);
  if (tls.clientCaFile) certificate(tls.clientCaFile, read(tls.clientCaFile, CA), CA);
}
