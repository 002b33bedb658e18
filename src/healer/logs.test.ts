import { classifyLogs, excerpt, isDependencyOutage, LOG_PRECEDENCE, redact } from './logs.js';

const JAVA_OOM = `2024-05-14 10:24:17.912  INFO 1 --- [nio-8080-exec-7] c.a.shop.web.OrderController : GET /api/orders/8812 200 41ms
2024-05-14 10:24:18.377  WARN 1 --- [nio-8080-exec-3] o.h.engine.jdbc.spi.SqlExceptionHelper : SQL Error: 0, SQLState: 08006
Exception in thread "http-nio-8080-exec-3" java.lang.OutOfMemoryError: Java heap space
	at java.base/java.util.Arrays.copyOf(Arrays.java:3537)
	at java.base/java.lang.AbstractStringBuilder.ensureCapacityInternal(AbstractStringBuilder.java:228)
	at java.base/java.lang.StringBuilder.append(StringBuilder.java:179)
2024-05-14 10:24:19.001 ERROR 1 --- [nio-8080-exec-9] o.a.c.c.C.[.[.[/].[dispatcherServlet] : I/O error: Connection reset by peer`;

const GO_OOM = `fatal error: runtime: out of memory

runtime stack:
runtime.throw({0x9b3f21?, 0x2030000?})
	/usr/local/go/src/runtime/panic.go:1077 +0x5c fp=0x7ffd3e9f0b78 sp=0x7ffd3e9f0b48 pc=0x43a1fc
runtime.sysMapOS(0xc004000000, 0x4000000?)
	/usr/local/go/src/runtime/mem_linux.go:167 +0x11b fp=0x7ffd3e9f0bb8 sp=0x7ffd3e9f0b78 pc=0x41a9bb`;

const NODE_OOM = `
<--- Last few GCs --->

[1:0x6a4e2c0]   120532 ms: Mark-Compact 2030.4 (2082.6) -> 2029.6 (2082.9) MB, 1892.3 / 0.0 ms  (average mu = 0.112, current mu = 0.009) allocation failure; scavenge might not succeed

<--- JS stacktrace --->

FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory
 1: 0xb7b3e0 node::Abort() [node]
 2: 0xa8c8aa  [node]`;

const PYTHON_OOM = `Traceback (most recent call last):
  File "/app/worker.py", line 88, in <module>
    main()
  File "/app/worker.py", line 71, in main
    frame = pd.concat(chunks)
MemoryError: Unable to allocate 3.73 GiB for an array with shape (500000000,) and data type int64`;

const GO_PANIC = `2024/05/14 10:25:47 starting api v2.4.1
panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x18 pc=0x8b2f4c]

goroutine 1 [running]:
main.(*Server).routes(0x0)
	/src/cmd/api/server.go:88 +0x2c
main.main()
	/src/cmd/api/main.go:41 +0x1a5`;

const PYTHON_PANIC = `Traceback (most recent call last):
  File "/app/main.py", line 12, in <module>
    from app.routes import api
  File "/app/app/routes.py", line 4, in <module>
    from app.models import Order
ImportError: cannot import name 'Order' from 'app.models' (/app/app/models.py)`;

const NODE_CRASH = `/app/dist/server.js:212
    const port = config.http.port;
                             ^

TypeError: Cannot read properties of undefined (reading 'port')
    at Object.<anonymous> (/app/dist/server.js:212:30)
    at Module._compile (node:internal/modules/cjs/loader:1369:14)

Node.js v20.12.2`;

const NODE_REJECTION = `node:internal/process/promises:288
            triggerUncaughtException(err, true /* fromPromise */);
            ^

[UnhandledPromiseRejection: This error originated either by throwing inside of an async function without a catch block, or by rejecting a promise which was not handled with .catch(). The promise rejected with the reason "boom".] {
  code: 'ERR_UNHANDLED_REJECTION'
}`;

const RUST_PANIC = `thread 'main' panicked at src/main.rs:27:10:
called \`Result::unwrap()\` on an \`Err\` value: ParseIntError { kind: InvalidDigit }
note: run with \`RUST_BACKTRACE=1\` environment variable to display a backtrace`;

const JAVA_EXCEPTION = `Exception in thread "main" java.lang.IllegalStateException: order queue not initialised
	at com.acme.shop.Main.main(Main.java:31)`;

const POSTGRES_REFUSED = `Traceback (most recent call last):
  File "/usr/local/lib/python3.12/site-packages/psycopg2/__init__.py", line 122, in connect
    conn = _connect(dsn, connection_factory=connection_factory, **kwasync)
psycopg2.OperationalError: connection to server at "postgres.shop.svc.cluster.local" (10.96.12.7), port 5432 failed: Connection refused
	Is the server running on that host and accepting TCP/IP connections?`;

const GO_PANIC_ON_REFUSED = `2024/05/14 10:25:48 connecting to postgres at postgres.shop.svc:5432
panic: dial tcp 10.96.12.7:5432: connect: connection refused

goroutine 1 [running]:
main.main()
	/src/main.go:41 +0x1a5`;

describe('classifyLogs', () => {
  test.each([
    ['Java OutOfMemoryError', JAVA_OOM, 'out-of-memory', /java\.lang\.OutOfMemoryError: Java heap space/],
    ['Go runtime OOM', GO_OOM, 'out-of-memory', /^fatal error: runtime: out of memory$/],
    ['Node heap OOM', NODE_OOM, 'out-of-memory', /JavaScript heap out of memory/],
    ['Python MemoryError', PYTHON_OOM, 'out-of-memory', /^MemoryError: Unable to allocate/],
    ['ENOMEM', 'Error: spawn ENOMEM', 'out-of-memory', /ENOMEM/],
    ['fork: Cannot allocate memory', 'sh: fork: Cannot allocate memory', 'out-of-memory', /Cannot allocate memory/],
    ['Postgres out of memory', 'ERROR:  out of memory\nDETAIL:  Failed on request of size 268435456.', 'out-of-memory', /out of memory/],

    ['Go nil pointer panic', GO_PANIC, 'panic', /^panic: runtime error: invalid memory address/],
    ['Python traceback: the exception line is the evidence', PYTHON_PANIC, 'panic', /^ImportError: cannot import name 'Order'/],
    ['Node uncaught TypeError', NODE_CRASH, 'panic', /^TypeError: Cannot read properties of undefined/],
    ['Node unhandled rejection', NODE_REJECTION, 'panic', /UnhandledPromiseRejection/],
    ['Node uncaughtException log', '{"level":60,"msg":"uncaughtException: boom"}', 'panic', /uncaughtException/],
    ['Rust panic', RUST_PANIC, 'panic', /^thread 'main' panicked at src\/main.rs:27:10:$/],
    ['Java uncaught exception', JAVA_EXCEPTION, 'panic', /^Exception in thread "main" java.lang.IllegalStateException/],

    ['Postgres connection refused (psycopg2)', POSTGRES_REFUSED, 'dependency', /port 5432 failed: Connection refused/],
    ['libpq: could not connect to server', 'psql: error: could not connect to server: No such file or directory', 'dependency', /could not connect to server/],
    ['Node ECONNREFUSED', 'Error: connect ECONNREFUSED 10.96.3.3:6379\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1595:16)', 'dependency', /ECONNREFUSED/],
    ['Go DNS: no such host', 'dial tcp: lookup redis.shop.svc.cluster.local on 10.96.0.10:53: no such host', 'dependency', /no such host/],
    ['Node DNS: ENOTFOUND', 'Error: getaddrinfo ENOTFOUND redis.shop.svc.cluster.local', 'dependency', /ENOTFOUND/],
    ['Python DNS: Name or service not known', 'socket.gaierror: [Errno -2] Name or service not known', 'dependency', /Name or service not known/],
    ['DNS: Temporary failure in name resolution', 'socket.gaierror: [Errno -3] Temporary failure in name resolution', 'dependency', /Temporary failure/],
    ['Go i/o timeout', 'Post "http://payments.shop.svc:8080/charge": dial tcp 10.96.8.1:8080: i/o timeout', 'dependency', /i\/o timeout/],
    ['Node ETIMEDOUT', 'Error: connect ETIMEDOUT 10.96.8.1:443', 'dependency', /ETIMEDOUT/],
    ['connection reset', 'read tcp 10.0.14.22:51234->10.96.8.1:5672: read: connection reset by peer', 'dependency', /connection reset by peer/],

    ['missing environment variable', 'Error: environment variable DATABASE_URL is not set', 'config', /DATABASE_URL is not set/],
    ['missing required env', 'FATAL missing required env var STRIPE_KEY', 'config', /missing required env var/],
    ['Python KeyError on os.environ', `Traceback (most recent call last):\n  File "/app/settings.py", line 3, in <module>\n    DB = os.environ["DATABASE_URL"]\n  File "<frozen os>", line 679, in __getitem__\nKeyError: 'DATABASE_URL'`, 'config', /^KeyError: 'DATABASE_URL'$/],
    ['config file missing', 'level=fatal msg="open /etc/web/config.yaml: no such file or directory"', 'config', /config\.yaml: no such file/],
    ['secret not found', 'Error: secret "web-db" not found', 'config', /secret "web-db" not found/],
    ['invalid configuration', 'invalid configuration: listen_addr must be host:port', 'config', /invalid configuration/],

    ['permission denied', 'open /data/cache/index.db: permission denied', 'permission', /permission denied/],
    ['EACCES', "Error: EACCES: permission denied, mkdir '/app/.cache'", 'permission', /EACCES/],
    ['RBAC forbidden', 'secrets is forbidden: User "system:serviceaccount:shop:web" cannot list resource "secrets" in API group "" in the namespace "shop"', 'permission', /forbidden/],
    ['HTTP 403', 'upstream responded HTTP/1.1 403 Forbidden', 'permission', /403 Forbidden/],
    ['status code 403', 'request failed with status code 403', 'permission', /status code 403/],
    ['unauthorized', 'GET https://registry.acme.io/v2/ returned 401 Unauthorized', 'permission', /Unauthorized/],
    ['Postgres authentication', 'FATAL:  password authentication failed for user "app"', 'permission', /authentication failed/],
  ])('%s', (_name, logs, category, evidence) => {
    const c = classifyLogs(logs);
    expect(c.category).toBe(category);
    expect(c.evidence).toMatch(evidence);
  });

  test('nothing recognisable: unknown, no evidence', () => {
    expect(classifyLogs('listening on :8080\nGET /healthz 200 1ms\nshutting down: exit status 1\nrequest took 403ms')).toEqual({ category: 'unknown', evidence: null });
    expect(classifyLogs('')).toEqual({ category: 'unknown', evidence: null });
  });

  describe('precedence: the cause wins over the symptom', () => {
    test('the documented order', () => {
      expect(LOG_PRECEDENCE).toEqual(['out-of-memory', 'dependency', 'config', 'permission', 'panic']);
    });
    test('a panic on a refused connection is a dependency outage', () => {
      expect(classifyLogs(GO_PANIC_ON_REFUSED)).toEqual({ category: 'dependency', evidence: 'panic: dial tcp 10.96.12.7:5432: connect: connection refused' });
    });
    test('a traceback ending in a refused connection is a dependency outage', () => {
      expect(classifyLogs(POSTGRES_REFUSED).category).toBe('dependency');
    });
    test('OOM beats the connection resets it causes (and the Exception in thread)', () => {
      expect(classifyLogs(JAVA_OOM).category).toBe('out-of-memory');
    });
    test('an unreachable config server is a dependency, not a config error', () => {
      expect(classifyLogs('failed to load config from http://config-server:8888: connect ECONNREFUSED 10.96.3.3:8888').category).toBe('dependency');
    });
    test('config beats permission; permission beats panic', () => {
      expect(classifyLogs('open /run/cache: permission denied\nmissing required setting: LISTEN_ADDR').category).toBe('config');
      expect(classifyLogs('panic: open /var/lib/app/state: permission denied\n\ngoroutine 1 [running]:').category).toBe('permission');
    });
  });

  test('old noise beyond the tail is not read', () => {
    const logs = ['connection reset by peer', ...Array.from({ length: 20 }, (_, i) => `GET /x ${i}`), GO_PANIC].join('\n');
    expect(classifyLogs(logs).category).toBe('dependency');
    expect(classifyLogs(logs, { maxLines: 15 }).category).toBe('panic');
  });

  test('evidence is redacted and clipped', () => {
    const c = classifyLogs('could not connect to server at postgres://app:hunter2@db:5432/shop ' + 'x'.repeat(500));
    expect(c.evidence).toContain('postgres://app:***@db');
    expect(c.evidence).not.toContain('hunter2');
    expect(c.evidence!.length).toBeLessThanOrEqual(300);
  });

  test('ANSI colour codes do not hide a pattern', () => {
    expect(classifyLogs('\x1b[31mpanic:\x1b[0m boom').category).toBe('panic');
  });

  test('isDependencyOutage: only dependency (a rollback would not help)', () => {
    expect(isDependencyOutage(classifyLogs(POSTGRES_REFUSED))).toBe(true);
    for (const logs of [GO_PANIC, JAVA_OOM, 'permission denied', 'invalid configuration', 'hello']) expect(isDependencyOutage(classifyLogs(logs))).toBe(false);
  });
});

describe('redact', () => {
  const JWT = 'eyJhbGciOiJSUzI1NiIsImtpZCI6IjNhZCJ9.eyJpc3MiOiJrdWJlcm5ldGVzL3NlcnZpY2VhY2NvdW50Iiwic3ViIjoic2hvcDp3ZWIifQ.dGhpcy1pcy1ub3QtYS1yZWFsLXNpZ25hdHVyZQ';
  const PEM = `-----BEGIN RSA PRIVATE KEY-----
MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun
VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK
-----END RSA PRIVATE KEY-----`;

  test.each([
    ['password=hunter2', 'password=***'],
    ['DB_PASSWORD=s3cr3t!x connecting', 'DB_PASSWORD=*** connecting'],
    ['passwd: hunter2', 'passwd: ***'],
    ['DB_PASS=hunter2', 'DB_PASS=***'],
    ['{"user":"app","password":"correct horse battery"}', '{"user":"app","password":"***"}'],
    ["config = {'dbPassword': 'hunter2'}", "config = {'dbPassword': '***'}"],
    ['client_secret=7fQ2-xYz', 'client_secret=***'],
    ['secret: abc123', 'secret: ***'],
    ['token=ghp_16C7e42F292c6912E7710c838347Ae178B4a', 'token=***'],
    ['accessToken: "ya29.a0AfH6SMB"', 'accessToken: "***"'],
    ['api_key=AIzaSyD-1234', 'api_key=***'],
    ['apikey: 0123abcd', 'apikey: ***'],
    ['X-Api-Key: 9f8e7d6c', 'X-Api-Key: ***'],
    ['GET /v1/charges?api-key=sk_live_51H&limit=10', 'GET /v1/charges?api-key=***&limit=10'],
    ['Authorization: Bearer abc.def.ghi', 'Authorization: Bearer ***'],
    ['curl -H "Authorization: Basic dXNlcjpwYXNz" https://api', 'curl -H "Authorization: Basic ***" https://api'],
    ['authorization=Token 0123456789abcdef', 'authorization=Token ***'],
    ['sent header Bearer s3cr3tT0kenValue', 'sent header Bearer ***'],
    ['using Basic dXNlcjpwYXNzd29yZA==', 'using Basic ***'],
    ['aws key AKIAIOSFODNN7EXAMPLE loaded', 'aws key *** loaded'],
    [`token ${JWT} expired`, 'token *** expired'],
    [`key:\n${PEM}\nloaded`, 'key:\n***\nloaded'],
    ['-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW', '***'], // cut before END
    ['commit 9fceb02d0ae598e95dc970b74767f19372d61af8 deployed', 'commit *** deployed'],
    ['digest sha256:4a7d2c9e1b3f5a6c8d0e2f4a6b8c0d2e4f6a8b0c2d4e6f8a0b2c4d6e8f0a2b4c', 'digest sha256:***'],
    ['aws_secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY end', 'aws_secret *** end'],
    ['postgres://app:s3cr3t@postgres.shop.svc:5432/shop', 'postgres://app:***@postgres.shop.svc:5432/shop'],
    ['redis://:hunter2@redis:6379/0', 'redis://:***@redis:6379/0'],
    ['amqp://guest:guest@rabbitmq:5672/', 'amqp://guest:***@rabbitmq:5672/'],
    ['exec app --password hunter2 --port 80', 'exec app --password *** --port 80'],
    ['exec app --token=abc123', 'exec app --token=***'],
    // Issue 19 (smaller): cookies, URL-encoded SAS signatures, short GitLab tokens, `apikey <value>`.
    ['Cookie: session=8f2a9c; csrftoken=Zx81', 'Cookie: ***'],
    ['> cookie: sid=abc', '> cookie: ***'],
    ['Set-Cookie: id=a3fWa; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Secure', 'Set-Cookie: ***'],
    ['GET https://acct.blob.core.windows.net/c/b.txt?sv=2022-11-02&se=2026-01-01&sig=AbC%2Bdef%2F12%3D HTTP/1.1', 'GET https://acct.blob.core.windows.net/c/b.txt?sv=2022-11-02&se=2026-01-01&sig=*** HTTP/1.1'],
    ['url=https://x.blob.core.windows.net/c?sig=k9%2B%3D&sp=r', 'url=https://x.blob.core.windows.net/c?sig=***&sp=r'],
    ['git clone https://oauth2:glpat-Ab12Cd34Ef56Gh78Ij90@gitlab.com/x.git', 'git clone https://oauth2:***@gitlab.com/x.git'],
    ['using glpat-Ab12Cd34Ef56Gh78Ij90 for the registry', 'using *** for the registry'],
    ['PRIVATE-TOKEN glpat-x7Yz_9k', 'PRIVATE-TOKEN ***'],
    ['registry login with glpat-x7Yz_9k failed', 'registry login with *** failed'],
    ['Authorization: apikey 7f3e9a1c', 'Authorization: ***'],
    ['calling with apikey 7f3e9a1c0b', 'calling with apikey ***'],
  ])('%j → %j', (input, output) => {
    expect(redact(input)).toBe(output);
  });

  test.each([
    'GET /api/v1/orders/8812 200 41ms',
    'connected to postgres://postgres.shop.svc:5432/shop as app',
    'FATAL:  password authentication failed for user "app"',
    'Bearer token required',
    'Basic authentication enabled',
    'pod uid 5b3f0c2e-9a41-4d7e-b6f2-1c8e4a7d9f30 restarted',
    'at org.springframework.beans.factory.support.AbstractAutowireCapableBeanFactory.createBean(AbstractAutowireCapableBeanFactory.java:521)',
    'Tests passed: 42',
    'token bucket refilled, 17 tokens left',
    'Error: secret "web-db" not found',
    '  File "/usr/local/lib/python3.12/site-packages/psycopg2/__init__.py", line 122, in connect',
    'kube-prometheus-stack-operator-7d4b9c6f5d-x2k8p ready',
    'apikey required for this endpoint',
    'cookie jar emptied',
    'signal sig=TERM received',
  ])('ordinary text survives: %j', (line) => {
    expect(redact(line)).toBe(line);
  });
});

describe('excerpt', () => {
  const lines = (n: number) => Array.from({ length: n }, (_, i) => `line ${i + 1}`).join('\n');

  test('the last 20 lines by default, trailing blank lines dropped', () => {
    const out = excerpt(`${lines(50)}\n\n\n`);
    expect(out.split('\n')).toHaveLength(20);
    expect(out.startsWith('line 31\n')).toBe(true);
    expect(out.endsWith('line 50')).toBe(true);
  });

  test('limits', () => {
    expect(excerpt(lines(50), { lines: 3 })).toBe('line 48\nline 49\nline 50');
    const out = excerpt(lines(50), { chars: 20 });
    expect(out.length).toBeLessThanOrEqual(20);
    expect(out).toBe('line 49\nline 50'); // no half line at the start
    expect(excerpt('x'.repeat(100), { chars: 10 })).toBe('x'.repeat(10));
  });

  test('redacted before cutting: a key block starting above the cut is still masked', () => {
    const pem = '-----BEGIN PRIVATE KEY-----\n' + Array.from({ length: 30 }, () => 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7').join('\n') + '\n-----END PRIVATE KEY-----';
    const out = excerpt(`${pem}\npassword=hunter2\nstarted`, { lines: 5 });
    expect(out).not.toMatch(/MIIE|hunter2/);
    expect(out).toBe('***\npassword=***\nstarted');
  });

  test('colour codes removed, CRLF normalised, trimmed', () => {
    expect(excerpt('\r\n  \x1b[32mready\x1b[0m\r\ndone  \r\n')).toBe('ready\ndone');
  });

  test('huge logs: only the tail is processed', () => {
    const big = 'noise\n'.repeat(200_000) + 'the end';
    expect(excerpt(big, { lines: 2 })).toBe('noise\nthe end');
  });
});
