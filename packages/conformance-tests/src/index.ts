export { describeAdapterConformance } from './adapter-suite/index.js'
export {
  Jar,
  listening,
  type NodeSockets,
  openSocket,
  type ParsedSetCookie,
  parseSetCookie,
  type Reply,
  type SendOptions,
  type SocketClient,
  send,
} from './client.js'
export { describeRevocationConformance, type RevocationStoreFactory } from './revocation-suite.js'
export { describeStoreConformance, type StoreFactory, testId } from './store-suite.js'
export { type InstrumentedStore, instrument } from './stores.js'
export type {
  AdapterHarness,
  AdapterSuiteOptions,
  AnySession,
  ConformanceApp,
  ConformanceRoute,
  ConformanceSocketRoute,
  MountedSession,
  RouteContext,
  RouteResult,
  RunningServer,
  SocketContext,
  StoreCase,
  UnsupportedFeature,
} from './types.js'
