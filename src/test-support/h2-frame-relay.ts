/**
 * A loopback TCP relay that passes an HTTP/2 connection through unchanged and records the frames
 * each way, by stream: what a client really put on the wire (a RST_STREAM or not), which the
 * server alone cannot tell from its own events.
 */
import { connect, createServer, type Socket } from 'node:net';

const FRAME_TYPES = ['DATA', 'HEADERS', 'PRIORITY', 'RST_STREAM', 'SETTINGS', 'PUSH_PROMISE', 'PING', 'GOAWAY', 'WINDOW_UPDATE', 'CONTINUATION'];
const PREFACE_BYTES = 24;

export interface Frame {
  type: string;
  flags: number;
  /** RST_STREAM and GOAWAY: the error code. */
  code?: number;
}

export interface FrameRelay {
  port: number;
  /** Frames from the client, by stream id (0: the connection's own). */
  fromClient: Map<number, Frame[]>;
  /** Frames from the server, by stream id. */
  fromServer: Map<number, Frame[]>;
  close(): void;
}

/** Splits a byte stream into HTTP/2 frames, after the client's connection preface when `preface`. */
function frameReader(preface: boolean, onFrame: (id: number, frame: Frame) => void): (chunk: Buffer) => void {
  let buf = Buffer.alloc(0);
  let skip = preface ? PREFACE_BYTES : 0;
  return (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    if (skip > 0) {
      const n = Math.min(skip, buf.length);
      buf = buf.subarray(n);
      skip -= n;
    }
    while (buf.length >= 9) {
      const length = buf.readUIntBE(0, 3);
      if (buf.length < 9 + length) return;
      const type = FRAME_TYPES[buf[3]!] ?? `type-${buf[3]}`;
      const id = buf.readUInt32BE(5) & 0x7fffffff;
      const payload = buf.subarray(9, 9 + length);
      const code = type === 'RST_STREAM' ? payload.readUInt32BE(0) : type === 'GOAWAY' ? payload.readUInt32BE(4) : undefined;
      onFrame(id, code === undefined ? { type, flags: buf[4]! } : { type, flags: buf[4]!, code });
      buf = buf.subarray(9 + length);
    }
  };
}

export async function startFrameRelay(port: number): Promise<FrameRelay> {
  const fromClient = new Map<number, Frame[]>();
  const fromServer = new Map<number, Frame[]>();
  const record = (into: Map<number, Frame[]>) => (id: number, frame: Frame) => {
    let list = into.get(id);
    if (!list) into.set(id, (list = []));
    list.push(frame);
  };
  const sockets: Socket[] = [];
  const relay = createServer((client) => {
    const server = connect(port, '127.0.0.1');
    sockets.push(client, server);
    const up = frameReader(true, record(fromClient));
    const down = frameReader(false, record(fromServer));
    client.on('data', (d: Buffer) => {
      up(d);
      server.write(d);
    });
    server.on('data', (d: Buffer) => {
      down(d);
      client.write(d);
    });
    client.on('error', () => undefined);
    server.on('error', () => undefined);
    client.on('close', () => server.destroy());
    server.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  return {
    port: (relay.address() as { port: number }).port,
    fromClient,
    fromServer,
    close() {
      for (const s of sockets) s.destroy();
      relay.close();
    },
  };
}
