/**
 * proto/externalscaler.proto must stay wire-compatible with KEDA's copy: package, service, RPC
 * shapes, and every message's field names, numbers and types as in KEDA v2.20.
 */
import * as protoLoader from '@grpc/proto-loader';
import { PROTO_PATH } from './contract.js';

interface FieldDescriptor {
  name: string;
  number: number;
  type: string;
  label: string;
  typeName: string;
}
interface MessageType {
  type: { field: FieldDescriptor[]; nestedType: { name: string; field: FieldDescriptor[]; options: { mapEntry: boolean } | null }[] };
}

const pkg = protoLoader.loadSync(PROTO_PATH, { keepCase: true });

const fields = (message: string) =>
  (pkg[`externalscaler.${message}`] as unknown as MessageType).type.field.map((f) => `${f.name}=${f.number}:${f.label === 'LABEL_REPEATED' ? 'repeated ' : ''}${f.type}${f.typeName ? `(${f.typeName})` : ''}`);

test('messages match KEDA field by field', () => {
  expect(fields('ScaledObjectRef')).toEqual(['name=1:TYPE_STRING', 'namespace=2:TYPE_STRING', 'scalerMetadata=3:repeated TYPE_MESSAGE(ScalerMetadata)']);
  // scalerMetadata is a map<string, string>: on the wire, repeated key=1/value=2 string entries.
  const entry = (pkg['externalscaler.ScaledObjectRef'] as unknown as MessageType).type.nestedType.find((t) => t.name === 'ScalerMetadata')!;
  expect(entry.options?.mapEntry).toBe(true);
  expect(entry.field.map((f) => `${f.name}=${f.number}:${f.type}`)).toEqual(['key=1:TYPE_STRING', 'value=2:TYPE_STRING']);
  expect(fields('IsActiveResponse')).toEqual(['result=1:TYPE_BOOL']);
  expect(fields('GetMetricSpecResponse')).toEqual(['metricSpecs=1:repeated TYPE_MESSAGE(MetricSpec)']);
  expect(fields('MetricSpec')).toEqual(['metricName=1:TYPE_STRING', 'targetSize=2:TYPE_INT64', 'targetSizeFloat=3:TYPE_DOUBLE']);
  expect(fields('GetMetricsRequest')).toEqual(['scaledObjectRef=1:TYPE_MESSAGE(ScaledObjectRef)', 'metricName=2:TYPE_STRING']);
  expect(fields('GetMetricsResponse')).toEqual(['metricValues=1:repeated TYPE_MESSAGE(MetricValue)']);
  expect(fields('MetricValue')).toEqual(['metricName=1:TYPE_STRING', 'metricValue=2:TYPE_INT64', 'metricValueFloat=3:TYPE_DOUBLE']);
});

test('service externalscaler.ExternalScaler has the four RPCs with KEDA paths and streaming shapes', () => {
  const service = pkg['externalscaler.ExternalScaler'] as protoLoader.ServiceDefinition;
  const shape = Object.fromEntries(Object.entries(service).map(([name, m]) => [name, `${m.path} ${m.requestStream}/${m.responseStream}`]));
  expect(shape).toEqual({
    IsActive: '/externalscaler.ExternalScaler/IsActive false/false',
    StreamIsActive: '/externalscaler.ExternalScaler/StreamIsActive false/true',
    GetMetricSpec: '/externalscaler.ExternalScaler/GetMetricSpec false/false',
    GetMetrics: '/externalscaler.ExternalScaler/GetMetrics false/false',
  });
});
