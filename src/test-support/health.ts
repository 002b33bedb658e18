/** A client of the standard grpc.health.v1 service, as a kubelet gRPC probe or grpc-health-probe uses it. */
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { resetOnCancel } from '../scaler/client.js';

type CheckClient = grpc.Client & {
  Check(req: { service: string }, cb: (err: grpc.ServiceError | null, res: { status: string }) => void): void;
  Watch(req: { service: string }): grpc.ClientReadableStream<{ status: string }>;
};

export function healthClient(address: string, credentials = grpc.credentials.createInsecure()) {
  const Ctor = grpc.makeClientConstructor(healthService as unknown as grpc.ServiceDefinition, 'Health');
  const client = new Ctor(address, credentials) as unknown as CheckClient;
  return {
    check: (service = '') =>
      new Promise<string>((resolve, reject) => client.Check({ service }, (err, res) => (err ? reject(err) : resolve(res.status)))),
    /** The Watch stream: every status change of `service`, as it happens (a cancel in the tick it opened still resets it: see resetOnCancel). */
    watch: (service = '') => resetOnCancel(client.Watch({ service })),
    close: () => client.close(),
  };
}
