export { describeAdapterConformance } from './adapter-suite.js'
export {
  Jar,
  listening,
  type ParsedSetCookie,
  parseSetCookie,
  type Reply,
  type SendOptions,
  send,
} from './client.js'
export { describeStoreConformance, type StoreFactory, testId } from './store-suite.js'
export { type InstrumentedStore, instrument } from './stores.js'
export type {
  AdapterHarness,
  AdapterSuiteOptions,
  AnySession,
  ConformanceApp,
  ConformanceRoute,
  MountedSession,
  RouteContext,
  RouteResult,
  RunningServer,
  StoreCase,
} from './types.js'
