/**
 * Saskatchewan-HTTP (Internet Traffic Archive): seven months of every HTTP request to the University
 * of Saskatchewan's WWW server, Jun 1 - Dec 31, 1995, in one Common Log Format file. The rules only;
 * `build-saskatchewan-http-csv.mjs` runs them through the shared CLF command (../lib/clf-build.mjs).
 */

/** @type {import('../lib/clf-build.mjs').ClfTrace} */
export const SASKATCHEWAN_HTTP = Object.freeze({
  name: 'saskatchewan-http',
  title: 'Saskatchewan-HTTP',
  page: 'https://ita.ee.lbl.gov/html/contrib/Sask-HTTP.html',
  downloadBase: 'https://ita.ee.lbl.gov/traces',
  // The log lines say -0600 (Saskatoon keeps Central Standard Time all year). The page's
  // "The timezone is -0400" is copied from the NASA page; each line's own offset is what is parsed.
  offsetMinutes: -360,
  firstDay: '1995-06-01',
  lastDay: '1995-12-31',
  // Eight weeks by default (80,640 minutes): two of late summer, then the start of the fall term
  // (classes began after Labour Day, Sep 4, 1995), a level shift. --from/--to choose any other days.
  defaultFrom: '1995-08-21',
  defaultTo: '1995-10-15',
  logs: [
    // "collected from 00:00:00 June 1, 1995 through 23:59:59 December 31, 1995, a total of 214 days".
    // Distributed as usask_access_log.gz; it decompresses to UofS_access_log.
    { file: 'usask_access_log.gz', aliases: ['UofS_access_log'], firstDay: '1995-06-01', lastDay: '1995-12-31' },
  ],
  unobserved: [],
});
