/**
 * ClarkNet-HTTP (Internet Traffic Archive): two weeks of every HTTP request to the ClarkNet WWW server
 * (an Internet access provider for the Baltimore-Washington DC area), Aug 28 - Sep 10, 1995, in two
 * Common Log Format files. The rules only: which file covers which days, the local offset, the span.
 * `build-clarknet-http-csv.mjs` runs them through the shared CLF command (../lib/clf-build.mjs).
 */

/** @type {import('../lib/clf-build.mjs').ClfTrace} */
export const CLARKNET_HTTP = Object.freeze({
  name: 'clarknet-http',
  title: 'ClarkNet-HTTP',
  page: 'https://ita.ee.lbl.gov/html/contrib/ClarkNet-HTTP.html',
  downloadBase: 'https://ita.ee.lbl.gov/traces',
  // The page: "The timezone is -0400" (EDT); the lines carry it too.
  offsetMinutes: -240,
  firstDay: '1995-08-28',
  lastDay: '1995-09-10',
  defaultFrom: '1995-08-28',
  defaultTo: '1995-09-10',
  logs: [
    // "The first log was collected from 00:00:00 August 28, 1995 through 23:59:59 September 3, 1995"
    { file: 'clarknet_access_log_Aug28.gz', firstDay: '1995-08-28', lastDay: '1995-09-03' },
    // "The second log was collected from 00:00:00 September 4, 1995 through 23:59:59 September 10, 1995"
    { file: 'clarknet_access_log_Sep4.gz', firstDay: '1995-09-04', lastDay: '1995-09-10' },
  ],
  // The page names no outage; the report lists long runs of zero minutes for a person to check.
  unobserved: [],
});
