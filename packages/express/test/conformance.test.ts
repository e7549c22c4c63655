import { describeAdapterConformance } from '@x/session-conformance-tests'
import express5 from 'express'
import express4 from 'express4'
import { harness } from './harness.js'

describeAdapterConformance(harness(express5, 'express 5', true))
describeAdapterConformance(harness(express4, 'express 4', false))
