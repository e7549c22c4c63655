import { describeAdapterConformance } from '@x/session-conformance-tests'
import Koa from 'koa'
import Koa2 from 'koa2'
import { koaHarness } from './harness.js'

describeAdapterConformance(koaHarness('koa 3', Koa))
describeAdapterConformance(koaHarness('koa 2', Koa2))
