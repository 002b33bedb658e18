#!/usr/bin/env node
/**
 * Rebuilds the ClarkNet-HTTP per-minute CSV from the two public access logs.
 *
 *   node scripts/traces/clarknet-http/build-clarknet-http-csv.mjs --out FILE [--logs DIR] [--from YYYY-MM-DD] [--to YYYY-MM-DD]
 *
 * Reads clarknet_access_log_Aug28.gz and clarknet_access_log_Sep4.gz (or decompressed copies of the
 * same names without .gz) from DIR (default: the current directory); only the logs the chosen days
 * need. Never downloads. Exit codes: 0 ok, 1 a log could not be read, 2 logs missing or bad usage.
 */
import { buildClfTrace } from '../lib/clf-build.mjs';
import { CLARKNET_HTTP } from './clarknet-http.mjs';

await buildClfTrace(CLARKNET_HTTP);
