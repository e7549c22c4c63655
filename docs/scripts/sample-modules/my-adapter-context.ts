// The made-up adapter's getSession(), over @x/session-core/context.
import type { AnySession } from '@x/session-conformance-tests'

export declare function getSession(): AnySession
