/**
 * The measurement floor of the serving benchmarks: an ExternalScaler that answers every call with a
 * constant, over the same grpc-js stack, in a process of its own. Whatever latency the load
 * generator measures against it is the round trip itself on this machine (client, loopback, gRPC,
 * scheduling), which no work inside the scaler can remove. Prints its port, then serves until killed.
 */
import * as grpc from '@grpc/grpc-js';
import { loadExternalScaler, type ExternalScalerHandlers } from '../scaler/contract.js';

const handlers: ExternalScalerHandlers = {
  GetMetricSpec: (_call, done) => done(null, { metricSpecs: [{ metricName: 'amadeus-predicted-load', targetSize: 20, targetSizeFloat: 20 }] }),
  GetMetrics: (_call, done) => done(null, { metricValues: [{ metricName: 'amadeus-predicted-load', metricValue: 60, metricValueFloat: 60 }] }),
  IsActive: (_call, done) => done(null, { result: true }),
  StreamIsActive: (call) => call.end(),
};

const server = new grpc.Server();
server.addService(loadExternalScaler().service, handlers);
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  process.stdout.write(`${JSON.stringify({ msg: 'floor server listening', port })}\n`);
});
process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
